import type { EventEmitter } from 'node:events';
import type { IncomingMessage, StoredMessage, StoreEvents, StoreLimits } from './types.js';

export interface Page {
  total: number;
  unread: number;
  messages: StoredMessage[];
}

export type MessageFilter = (message: StoredMessage) => boolean;

/** Where the store keeps its messages beyond memory, for /api/info. */
export interface StorePersistence {
  /** The data directory. */
  readonly dir: string;
  /** Bytes the directory takes: messages and Mailroom's own files. */
  bytes(): number;
}

/**
 * What every protocol and the API depend on (go-imap's backend shape): reads
 * answer at once from memory; every write resolves once it is as durable as
 * the store is, so a protocol replies only after its change would survive a
 * restart (SMTP's 250, IMAP's OK, POP3's +OK, an API 2xx). Events fire as each
 * change is applied, evictions before the message that caused them.
 */
export interface Store {
  readonly events: EventEmitter<StoreEvents>;
  readonly limits: StoreLimits;
  /** IMAP UIDVALIDITY of INBOX: the store's uids are valid for as long as it stays. */
  readonly uidValidity: number;
  readonly size: number;
  readonly bytes: number;
  readonly unread: number;
  /** The uid the next message will get: above every uid given so far (IMAP's UIDNEXT). */
  readonly uidNext: number;
  /** Null for a store that lives in memory only. */
  readonly persistence: StorePersistence | null;

  get(id: string): StoredMessage | undefined;
  /** Newest first, filtered, with totals over every match. */
  page(filter: MessageFilter | null, offset: number, limit: number): Page;
  /** Every message in arrival order (a snapshot). */
  all(): StoredMessage[];
  /** Messages received after `uid` that pass the filter, oldest first. */
  since(uid: number, filter: MessageFilter | null): StoredMessage[];
  /** Every tag in use, with how many messages carry it, by name ignoring case. */
  tags(): { name: string; count: number }[];
  hasTag(name: string): boolean;

  /** Keeps a message and announces it; rejects with StoreCapacityError or StoreWriteError, and then nothing is kept. */
  add(incoming: IncomingMessage): Promise<StoredMessage>;
  /**
   * Changes flags, removals first; tags compare ignoring case and take the
   * spelling already in use. `origin` is handed to the `update` event, so
   * the session that made a change can tell it from others'.
   */
  updateFlags(id: string, add: readonly string[], remove: readonly string[], origin?: object): Promise<StoredMessage | undefined>;
  setRead(id: string, read: boolean): Promise<StoredMessage | undefined>;
  /** Replaces a message's tags, keeping its system flags. */
  setTags(id: string, tags: readonly string[]): Promise<StoredMessage | undefined>;
  /** Renames a tag on every message that carries it (a change of case included); resolves to how many changed. */
  renameTag(from: string, to: string): Promise<number>;
  /** Takes a tag off every message; resolves to how many changed. */
  deleteTag(name: string): Promise<number>;
  /** Removes messages; unknown ids are skipped. Resolves to the messages removed. */
  delete(ids: Iterable<string>): Promise<StoredMessage[]>;
  clear(): Promise<void>;
  /** Finishes pending writes and lets go of the data directory. */
  close(): Promise<void>;
}

/** A message larger than the whole store cannot be kept; the capture must refuse it. */
export class StoreCapacityError extends Error {
  constructor(size: number, maxBytes: number) {
    super(`message of ${size} bytes exceeds the store's capacity of ${maxBytes} bytes`);
  }
}

/**
 * A write the store could not make durable; nothing of it was kept. `full`
 * when the disk (or a quota) is out of space, which a client may retry later.
 */
export class StoreWriteError extends Error {
  readonly full: boolean;

  constructor(cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | null)?.code;
    super(`the change could not be written to disk (${code ?? 'error'})`, { cause });
    this.full = code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG';
  }
}
