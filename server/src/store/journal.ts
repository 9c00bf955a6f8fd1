import type { MessageDigest } from '../mime/digest.js';
import type { StorePersistence } from './store.js';
import type { StoredMessage } from './types.js';

/** A message as a journal finds it at start: what the store keeps, less what it works out again, unless the journal had to parse it already. */
export type RestoredMessage = Omit<StoredMessage, 'digest'> & { readonly digest?: MessageDigest };

export interface RestoredState {
  uidValidity: number;
  /** Above every uid ever given, deleted messages' included, so uids are never reused. */
  uidNext: number;
  /** Ascending by uid. */
  messages: RestoredMessage[];
}

/**
 * Where a store writes its changes. Every promise resolves once the change
 * is durable and rejects (with StoreWriteError for an add) when it cannot be;
 * writes complete in the order they were asked for.
 */
export interface StoreJournal {
  readonly persistence: StorePersistence;
  /** Before the store keeps the message: on rejection it is not kept. */
  add(message: StoredMessage): Promise<void>;
  /** After the store changed the message's flags: writes the flags it has now. */
  flags(message: StoredMessage): Promise<void>;
  remove(messages: readonly StoredMessage[]): Promise<void>;
  /** Every message up to `upToUid` left at once. */
  clear(upToUid: number): Promise<void>;
  close(): Promise<void>;
}
