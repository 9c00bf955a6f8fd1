import type { MessageDigest } from '../../mime/digest.js';
import { mailboxFilter } from '../../store/mailbox-rule.js';
import type { MessageStore } from '../../store/message-store.js';
import type { StoredMessage } from '../../store/types.js';
import type { ImapMessage } from '../message.js';
import { Mailbox, type NewMessage } from './mailbox.js';

/** Shared by every message dropped without flags, and by those dropped all at once (the store was cleared). */
const NO_FLAGS: ReadonlySet<string> = new Set();

/** The store gives a message a new flag set on every change, so each set's IMAP form is worked out once (FETCH, SEARCH and STORE read it per message). */
const imapForms = new WeakMap<ReadonlySet<string>, ReadonlySet<string>>();

/**
 * The store's tags are INBOX's keywords. A tag may hold spaces (Mailpit's do)
 * and a keyword is an atom (RFC 3501 §9), so IMAP writes each space as `+`,
 * which no tag holds (store/tags.ts): the mapping goes both ways unchanged.
 */
function imapFlags(flags: ReadonlySet<string>): ReadonlySet<string> {
  let mapped = imapForms.get(flags);
  if (mapped === undefined) {
    mapped = [...flags].some((f) => f.includes(' ')) ? new Set([...flags].map((f) => f.replaceAll(' ', '+'))) : flags;
    imapForms.set(flags, mapped);
  }
  return mapped;
}

function storeFlags(flags: readonly string[]): string[] {
  return flags.map((flag) => (flag.startsWith('\\') ? flag : flag.replaceAll('+', ' ')));
}

/**
 * A captured message seen through IMAP. It keeps only what names it and
 * reads the rest from the store while the store has it, so a session that
 * still numbers an evicted message (its EXPUNGE not sent yet) does not keep
 * the message's bytes alive: memory stays bounded by the store's limits.
 */
class CapturedMessage implements ImapMessage {
  /** The flags the message had when the store dropped it. */
  private lastFlags: ReadonlySet<string> = NO_FLAGS;

  constructor(
    private readonly store: MessageStore,
    readonly id: string,
    readonly uid: number,
    readonly internalDate: number,
  ) {}

  get raw(): Buffer | null {
    return this.store.get(this.id)?.raw ?? null;
  }

  get flags(): ReadonlySet<string> {
    return imapFlags(this.store.get(this.id)?.flags ?? this.lastFlags);
  }

  get digest(): MessageDigest | null {
    return this.store.get(this.id)?.digest ?? null;
  }

  /** The store is dropping the message: its flags stay known for FETCH FLAGS and flag searches until the EXPUNGE is sent. */
  dropped(flags: ReadonlySet<string>): void {
    this.lastFlags = flags.size === 0 ? NO_FLAGS : flags;
  }
}

/**
 * INBOX: the captured mail a user sees (the POP3 rule: an address sees mail
 * addressed to it, any other name sees everything), straight from the store.
 * UIDs are the store's, strictly ascending; flags are the store's, so \Seen
 * here is "read" in the API and web inbox. It listens to the store only while
 * some session has it open.
 */
export class InboxMailbox extends Mailbox {
  private readonly filter: ((message: StoredMessage) => boolean) | null;
  /**
   * One wrapper per message, so every session and event speaks of the same
   * object. Weak, and the wrapper does not hold the message, so an entry
   * goes when the store drops its message.
   */
  private readonly wrappers = new WeakMap<StoredMessage, CapturedMessage>();
  /** The session whose own flag change is being applied, for the event it causes. */
  private source: object | null = null;
  /** UIDNEXT as last reported for a filtered INBOX; it never goes back. */
  private uidNextSeen = 1;

  private readonly onNew = (message: StoredMessage): void => {
    if (!this.visible(message)) return;
    this.uidNextSeen = Math.max(this.uidNextSeen, message.uid + 1);
    this.events.emit('exists', this.wrap(message));
  };
  private readonly onUpdate = (message: StoredMessage): void => {
    if (this.visible(message)) this.events.emit('flags', this.wrap(message), this.source);
  };
  private readonly onDelete = (messages: StoredMessage[]): void => {
    const gone: CapturedMessage[] = [];
    for (const message of messages) {
      // No wrapper, no session that knows the message.
      const wrapper = this.wrappers.get(message);
      if (wrapper === undefined || !this.visible(message)) continue;
      wrapper.dropped(message.flags);
      gone.push(wrapper);
    }
    if (gone.length > 0) this.events.emit('expunge', gone);
  };
  private readonly onClear = (): void => {
    this.events.emit('reset');
  };

  constructor(
    private readonly store: MessageStore,
    readonly user: string,
    uidValidity: number,
  ) {
    super('INBOX', uidValidity, null);
    this.filter = mailboxFilter(user);
  }

  /**
   * RFC 3501 §2.3.1.1: UIDNEXT changes only when this mailbox gets mail. The
   * unfiltered INBOX sees all mail, so the store's next uid is right; a
   * filtered one reports one past its newest message, never going back.
   */
  get uidNext(): number {
    if (this.filter === null) return this.store.uidNext;
    const all = this.store.all();
    for (let i = all.length - 1; i >= 0; i--) {
      if (!this.filter(all[i]!)) continue;
      this.uidNextSeen = Math.max(this.uidNextSeen, all[i]!.uid + 1);
      break;
    }
    return this.uidNextSeen;
  }

  messages(): ImapMessage[] {
    const all = this.store.all();
    return (this.filter === null ? all : all.filter(this.filter)).map((m) => this.wrap(m));
  }

  /** APPEND to INBOX is a capture like SMTP's, addressed to the user when the user is an address so it stays visible. */
  append(message: NewMessage): ImapMessage {
    const stored = this.store.add({
      raw: message.raw,
      envelope: { mailFrom: '', rcptTo: this.filter === null ? [] : [this.user] },
      smtp: { helo: null, remoteAddress: null, authUser: this.user, tls: false },
      receivedAt: message.internalDate,
      flags: storeFlags(message.flags),
    });
    return this.wrap(stored);
  }

  updateFlags(message: ImapMessage, add: readonly string[], remove: readonly string[], source: object | null): void {
    if (!(message instanceof CapturedMessage)) return;
    this.source = source;
    try {
      this.store.updateFlags(message.id, storeFlags(add), storeFlags(remove));
    } finally {
      this.source = null;
    }
  }

  expunge(messages: readonly ImapMessage[]): void {
    const ids = messages.flatMap((m) => (m instanceof CapturedMessage ? [m.id] : []));
    this.store.delete(ids);
  }

  protected override attach(): void {
    this.store.events.on('new', this.onNew).on('update', this.onUpdate).on('delete', this.onDelete).on('clear', this.onClear);
  }

  protected override detach(): void {
    this.store.events.off('new', this.onNew).off('update', this.onUpdate).off('delete', this.onDelete).off('clear', this.onClear);
  }

  private visible(message: StoredMessage): boolean {
    return this.filter === null || this.filter(message);
  }

  private wrap(message: StoredMessage): CapturedMessage {
    let wrapper = this.wrappers.get(message);
    if (wrapper === undefined) {
      wrapper = new CapturedMessage(this.store, message.id, message.uid, message.receivedAt);
      this.wrappers.set(message, wrapper);
    }
    return wrapper;
  }
}
