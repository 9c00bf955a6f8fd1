import { MessageStore } from './message-store.js';
import type { Store } from './store.js';

/** A folder as its account records it. */
export interface FolderRecord {
  name: string;
  uidValidity: number;
  specialUse: string | null;
  /** Its directory, where that is not the one its name gives (a rename under way, or a name taken). */
  dir?: string;
}

/** What is written of an IMAP account: its folders and subscriptions. */
export interface AccountRecord {
  user: string;
  folders: FolderRecord[];
  subscriptions: string[];
}

/** An account found at start, each folder with its store loaded. */
export interface KeptAccount extends AccountRecord {
  stores: ReadonlyMap<string, Store>;
}

/**
 * Where IMAP users' own folders live: in memory, or as Maildir++ folders of
 * the data directory. The IMAP layer decides what folders exist; this keeps
 * each folder's messages (a store per folder, with its own uids) and the
 * account's record.
 */
export interface FolderStores {
  /** Whether folders outlive the process; then an account is written on its first change. */
  readonly durable: boolean;
  /** Accounts from earlier runs, by lower-cased user name. */
  readonly kept: ReadonlyMap<string, KeptAccount>;
  /** A store for an empty folder: on disk when durable. */
  create(user: string, name: string, uidValidity: number): Promise<Store>;
  /** A store in memory, for a folder no one has used yet. */
  ephemeral(uidValidity: number): Store;
  /** The folder is gone: its store is closed and its messages removed. */
  remove(store: Store): Promise<void>;
  /** Moves the folder's messages to where its new name puts them; the account is saved before and after. */
  rename(user: string, to: string, store: Store): Promise<void>;
  /** Writes the account's record whole, each folder's directory pinned where it is now. */
  save(account: AccountRecord, stores: ReadonlyMap<string, Store>): Promise<void>;
  close(): Promise<void>;
}

/** Folders hold what the folder quota lets them: the stores themselves never evict. */
export const UNLIMITED = { maxMessages: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER };

/** Folders in memory for the life of the process. */
export class MemoryFolderStores implements FolderStores {
  readonly durable = false;
  readonly kept = new Map<string, KeptAccount>();

  ephemeral(uidValidity: number): Store {
    return new MessageStore(UNLIMITED, { uidValidity });
  }

  async create(_user: string, _name: string, uidValidity: number): Promise<Store> {
    return this.ephemeral(uidValidity);
  }

  async remove(store: Store): Promise<void> {
    await store.close();
  }

  async rename(): Promise<void> {}

  async save(): Promise<void> {}

  async close(): Promise<void> {}
}
