import type { MessageDigest } from '../../mime/digest.js';
import type { Store } from '../../store/store.js';
import type { StoredMessage } from '../../store/types.js';
import type { ImapMessage } from '../message.js';
import { Mailbox } from './mailbox.js';

/** Shared by every message dropped without flags, and by those dropped all at once (the store was cleared). */
const NO_FLAGS: ReadonlySet<string> = new Set();

/** The store gives a message a new flag set on every change, so each set's IMAP form is worked out once (FETCH, SEARCH and STORE read it per message). */
const imapForms = new WeakMap<ReadonlySet<string>, ReadonlySet<string>>();

/**
 * The store's tags are a mailbox's keywords. A tag may hold spaces (Mailpit's
 * do) and a keyword is an atom (RFC 3501 §9), so IMAP writes each space as
 * `+`, which no tag holds (store/tags.ts): the mapping goes both ways unchanged.
 */
function imapFlags(flags: ReadonlySet<string>): ReadonlySet<string> {
  let mapped = imapForms.get(flags);
  if (mapped === undefined) {
    mapped = [...flags].some((f) => f.includes(' ')) ? new Set([...flags].map((f) => f.replaceAll(' ', '+'))) : flags;
    imapForms.set(flags, mapped);
  }
  return mapped;
}

export function storeFlags(flags: readonly string[]): string[] {
  return flags.map((flag) => (flag.startsWith('\\') ? flag : flag.replaceAll('+', ' ')));
}

/**
 * A stored message seen through IMAP. It keeps only what names it and reads
 * the rest from the store while the store has it, so a session that still
 * numbers a deleted message (its EXPUNGE not sent yet) does not keep the
 * message's bytes alive: memory stays bounded by the store's limits.
 */
class StoreMessage implements ImapMessage {
  /** The flags the message had when the store dropped it. */
  private lastFlags: ReadonlySet<string> = NO_FLAGS;

  constructor(
    private readonly store: Store,
    readonly id: string,
    readonly uid: number,
    readonly internalDate: number,
    readonly size: number,
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
 * A mailbox whose messages are a store's (INBOX over the captured mail, a
 * folder over its own), optionally seen through a filter. UIDs and flags are
 * the store's; it listens to the store only while some session has it open.
 */
export abstract class StoreMailbox extends Mailbox {
  /**
   * One wrapper per message, so every session and event speaks of the same
   * object. Weak, and the wrapper does not hold the message, so an entry
   * goes when the store drops its message.
   */
  private readonly wrappers = new WeakMap<StoredMessage, StoreMessage>();

  private readonly onNew = (message: StoredMessage): void => {
    if (this.visible(message)) this.events.emit('exists', this.wrap(message));
  };
  private readonly onUpdate = (message: StoredMessage, _previous: ReadonlySet<string>, origin: object | null): void => {
    if (this.visible(message)) this.events.emit('flags', this.wrap(message), origin);
  };
  private readonly onDelete = (messages: StoredMessage[]): void => {
    const gone: StoreMessage[] = [];
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
    protected store: Store,
    name: string,
    uidValidity: number,
    specialUse: string | null,
    private readonly filter: ((message: StoredMessage) => boolean) | null = null,
  ) {
    super(name, uidValidity, specialUse);
  }

  messages(): ImapMessage[] {
    const all = this.store.all();
    return (this.filter === null ? all : all.filter(this.filter)).map((m) => this.wrap(m));
  }

  async updateFlags(message: ImapMessage, add: readonly string[], remove: readonly string[], source: object | null): Promise<void> {
    if (!(message instanceof StoreMessage)) return;
    await this.store.updateFlags(message.id, storeFlags(add), storeFlags(remove), source ?? undefined);
  }

  async expunge(messages: readonly ImapMessage[]): Promise<void> {
    await this.remove(messages.flatMap((m) => (m instanceof StoreMessage ? [m.id] : [])));
  }

  /** Takes the messages out of the store; resolves to those removed. */
  protected remove(ids: readonly string[]): Promise<StoredMessage[]> {
    return this.store.delete(ids);
  }

  /** Puts another store behind the mailbox (an empty folder given a place on disk); sessions that listen move with it. */
  protected replaceStore(store: Store): void {
    if (this.isOpen) this.detach();
    this.store = store;
    if (this.isOpen) this.attach();
  }

  protected override attach(): void {
    this.store.events.on('new', this.onNew).on('update', this.onUpdate).on('delete', this.onDelete).on('clear', this.onClear);
  }

  protected override detach(): void {
    this.store.events.off('new', this.onNew).off('update', this.onUpdate).off('delete', this.onDelete).off('clear', this.onClear);
  }

  protected visible(message: StoredMessage): boolean {
    return this.filter === null || this.filter(message);
  }

  protected wrap(message: StoredMessage): ImapMessage {
    let wrapper = this.wrappers.get(message);
    if (wrapper === undefined) {
      wrapper = new StoreMessage(this.store, message.id, message.uid, message.receivedAt, message.raw.length);
      this.wrappers.set(message, wrapper);
    }
    return wrapper;
  }
}
