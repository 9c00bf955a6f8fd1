import { EventEmitter } from 'node:events';
import type { MessageDigest } from '../../mime/digest.js';
import type { ImapMessage } from '../message.js';

export interface MailboxEvents {
  /** A message was added (captured, appended, copied or moved in). */
  exists: [message: ImapMessage];
  /** A message's flags changed; `source` is the session that changed them, if any. */
  flags: [message: ImapMessage, source: object | null];
  /** Messages left the mailbox. */
  expunge: [messages: readonly ImapMessage[]];
  /** Every message left at once (the store was cleared). */
  reset: [];
}

export interface NewMessage {
  raw: Buffer;
  flags: readonly string[];
  internalDate: number;
  /** Passed on by COPY and MOVE, which share the source's parsed form. */
  digest?: MessageDigest;
}

/**
 * A mailbox as every IMAP session sees it: a UID-ordered list with events.
 * Sessions keep their own sequence numbering (see SelectedMailbox) and learn
 * of changes only through `events`, so changes made anywhere (SMTP, the API,
 * POP3, another session) reach every session the same way.
 */
export abstract class Mailbox {
  readonly events = new EventEmitter<MailboxEvents>();
  /** Highest UID already reported as \Recent to some session (RFC 3501 §2.3.2: one session per message). */
  recentUpTo: number;
  private openCount = 0;

  constructor(
    public name: string,
    readonly uidValidity: number,
    readonly specialUse: string | null,
  ) {
    this.events.setMaxListeners(0);
    this.recentUpTo = 0;
  }

  abstract get uidNext(): number;
  /** The messages now, ascending by UID. */
  abstract messages(): ImapMessage[];
  /** Each write resolves once it is as durable as the store behind the mailbox is. */
  abstract append(message: NewMessage): Promise<ImapMessage>;
  /** Applied at once, so the message shows its new flags before the write resolves. */
  abstract updateFlags(message: ImapMessage, add: readonly string[], remove: readonly string[], source: object | null): Promise<void>;
  abstract expunge(messages: readonly ImapMessage[]): Promise<void>;

  /** A session selected (or IDLEs on) the mailbox; mailboxes fed by the store listen only while someone does. */
  open(): void {
    if (this.openCount++ === 0) this.attach();
  }

  close(): void {
    if (--this.openCount === 0) this.detach();
  }

  protected get isOpen(): boolean {
    return this.openCount > 0;
  }

  protected attach(): void {}
  protected detach(): void {}
}

let lastUidValidity = Math.floor(Date.now() / 1000);

/**
 * UIDVALIDITY for a new mailbox (RFC 3501 §2.3.1.1): unique over the life of
 * the process and beyond, since it starts from the clock, so a folder deleted
 * and created again, or a restarted Mailroom, never reuses a value.
 */
export function nextUidValidity(): number {
  lastUidValidity += 1;
  return lastUidValidity;
}

/** Values kept from an earlier run are never given again: the clock may be behind what folders used then. */
export function reserveUidValidity(used: number): void {
  lastUidValidity = Math.max(lastUidValidity, used);
}
