import { digestMessage, type MessageDigest } from '../../mime/digest.js';
import type { ImapMessage } from '../message.js';
import { Mailbox, type NewMessage } from './mailbox.js';
import type { FolderQuota } from './quota.js';

class FolderMessage implements ImapMessage {
  /** What the quota counted. */
  readonly size: number;

  constructor(
    readonly uid: number,
    public raw: Buffer | null,
    readonly internalDate: number,
    public flags: ReadonlySet<string>,
    public digest: MessageDigest | null,
  ) {
    this.size = raw?.length ?? 0;
  }

  /** Out of the folder: its bytes go, as INBOX's do when the store drops them, though a session may still number it. */
  drop(): void {
    this.raw = null;
    this.digest = null;
  }
}

/** A user's own folder (or Sent, Drafts, Trash): messages held in memory, copies sharing bytes with their source. */
export class FolderMailbox extends Mailbox {
  private list: FolderMessage[] = [];
  private nextUid = 1;

  constructor(name: string, uidValidity: number, specialUse: string | null, private readonly quota: FolderQuota) {
    super(name, uidValidity, specialUse);
  }

  get uidNext(): number {
    return this.nextUid;
  }

  messages(): ImapMessage[] {
    return this.list.slice();
  }

  append(message: NewMessage): ImapMessage {
    this.quota.reserve(message.raw.length);
    const digest = message.digest ?? digestMessage(message.raw);
    const added = new FolderMessage(this.nextUid++, message.raw, message.internalDate, new Set(message.flags), digest);
    this.list.push(added);
    this.events.emit('exists', added);
    return added;
  }

  updateFlags(message: ImapMessage, add: readonly string[], remove: readonly string[], source: object | null): void {
    if (!(message instanceof FolderMessage)) return;
    const flags = new Set(message.flags);
    for (const flag of add) flags.add(flag);
    for (const flag of remove) flags.delete(flag);
    if (flags.size === message.flags.size && [...flags].every((f) => message.flags.has(f))) return;
    message.flags = flags;
    this.events.emit('flags', message, source);
  }

  expunge(messages: readonly ImapMessage[]): void {
    const gone = new Set(messages);
    const removed = this.list.filter((m) => gone.has(m));
    if (removed.length === 0) return;
    for (const m of removed) {
      this.quota.release(m.size);
      m.drop();
    }
    this.list = this.list.filter((m) => !gone.has(m));
    this.events.emit('expunge', removed);
  }

  /** Every message, for DELETE and for RENAME of INBOX. */
  clear(): void {
    const removed = this.list;
    this.list = [];
    for (const m of removed) {
      this.quota.release(m.size);
      m.drop();
    }
    if (removed.length > 0) this.events.emit('expunge', removed);
  }
}
