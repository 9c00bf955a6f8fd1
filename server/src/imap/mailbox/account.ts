import type { FolderStores, KeptAccount } from '../../store/folder-stores.js';
import type { Store } from '../../store/store.js';
import { contentOf } from '../message.js';
import { FolderMailbox } from './folder-mailbox.js';
import { InboxMailbox } from './inbox-mailbox.js';
import { nextUidValidity, reserveUidValidity, type Mailbox } from './mailbox.js';
import type { FolderQuota } from './quota.js';

/** The hierarchy delimiter (RFC 3501 §5.1.1), as the issue and most clients expect. */
export const DELIMITER = '/';

/** Folders every account starts with, marked for clients by RFC 6154 SPECIAL-USE attributes. */
const SPECIAL_FOLDERS: readonly (readonly [string, string])[] = [
  ['Drafts', '\\Drafts'],
  ['Sent', '\\Sent'],
  ['Trash', '\\Trash'],
];

/** Longest mailbox name, and deepest hierarchy, a client may create. */
export const MAX_NAME_BYTES = 1024;
const MAX_LEVELS = 32;
/** Folders and subscriptions one user may have: far beyond any client's needs, short of a memory hazard. */
export const MAX_FOLDERS = 1000;
export const MAX_SUBSCRIPTIONS = 1000;

/** INBOX is case-insensitive, also as the first level of a hierarchy (RFC 3501 §5.1). */
export function normalizeName(name: string): string {
  const first = name.split(DELIMITER, 1)[0]!;
  return first.toUpperCase() === 'INBOX' ? `INBOX${name.slice(first.length)}` : name;
}

/**
 * One user's mailboxes: INBOX over the captured mail, and folders, each over
 * a store of its own, that every session of that user shares. With a data
 * directory an account is written on its first change (a folder made, moved,
 * removed or given mail; a subscription): until then its folders are the
 * defaults, empty, in memory, so a login alone writes nothing.
 */
export class Account {
  readonly inbox: InboxMailbox;
  private readonly folders = new Map<string, FolderMailbox>();
  private readonly subscribed: Set<string>;
  /** Logged-in sessions using the account. */
  sessions = 0;
  /** Resolves once the account has its place on disk (or at once without a data directory). */
  private onDisk: Promise<void> | null;
  /** Folder-level changes run one at a time, so two sessions' CREATE or RENAME never interleave. */
  private changes: Promise<unknown> = Promise.resolve();

  constructor(
    store: Store,
    readonly user: string,
    private readonly quota: FolderQuota,
    private readonly stores: FolderStores,
    kept?: KeptAccount,
  ) {
    this.inbox = new InboxMailbox(store, user);
    if (kept !== undefined) {
      for (const folder of kept.folders) this.folders.set(folder.name, this.folderOver(folder.name, kept.stores.get(folder.name)!, folder.specialUse));
      this.subscribed = new Set(kept.subscriptions);
      this.onDisk = Promise.resolve();
      return;
    }
    this.subscribed = new Set(['INBOX']);
    for (const [name, use] of SPECIAL_FOLDERS) {
      this.folders.set(name, this.folderOver(name, stores.ephemeral(nextUidValidity()), use));
      this.subscribed.add(name);
    }
    this.onDisk = stores.durable ? null : Promise.resolve();
  }

  /** Whether the account lives beyond memory (it then stays loaded). */
  get kept(): boolean {
    return this.stores.durable && this.onDisk !== null;
  }

  get subscriptions(): ReadonlySet<string> {
    return this.subscribed;
  }

  get(name: string): Mailbox | null {
    const normal = normalizeName(name);
    return normal === 'INBOX' ? this.inbox : (this.folders.get(normal) ?? null);
  }

  /** Every mailbox name, INBOX first, then folders in code-unit order. */
  names(): string[] {
    return ['INBOX', ...[...this.folders.keys()].sort()];
  }

  /** Every name that has a folder below it, for a LIST of many folders in one pass. */
  parents(): Set<string> {
    const parents = new Set<string>();
    for (const name of this.folders.keys()) {
      const last = name.lastIndexOf(DELIMITER);
      if (last > 0) parents.add(name.slice(0, last));
    }
    return parents;
  }

  hasChildren(name: string): boolean {
    const prefix = `${normalizeName(name)}${DELIMITER}`;
    for (const other of this.folders.keys()) if (other.startsWith(prefix)) return true;
    return false;
  }

  /** RFC 3501 §6.3.3; superior levels are created too. Returns why not, or null. */
  create(name: string): Promise<string | null> {
    return this.serial(() => this.createNow(name));
  }

  private async createNow(name: string): Promise<string | null> {
    const normal = normalizeName(name.endsWith(DELIMITER) ? name.slice(0, -1) : name);
    const invalid = invalidName(normal);
    if (invalid !== null) return invalid;
    if (this.get(normal) !== null) return 'Mailbox already exists';
    const levels = normal.split(DELIMITER);
    if (this.folders.size + levels.length > MAX_FOLDERS) return `A user has at most ${MAX_FOLDERS} folders`;
    await this.keepOnDisk();
    await this.createLevels(levels, levels.length);
    await this.save();
    return null;
  }

  /** The first `count` levels of a hierarchy, each made when missing (RFC 3501 §6.3.3 creates superiors too). */
  private async createLevels(levels: readonly string[], count: number): Promise<void> {
    for (let i = 1; i <= count; i++) {
      const path = levels.slice(0, i).join(DELIMITER);
      if (path === 'INBOX' || this.folders.has(path)) continue;
      const store = await this.stores.create(this.user, path, nextUidValidity());
      this.folders.set(path, this.folderOver(path, store, null));
    }
  }

  /** RFC 3501 §6.3.4: INBOX cannot go; a folder with inferiors stays until they are gone, as in Dovecot. */
  delete(name: string): Promise<{ removed: FolderMailbox } | { error: string }> {
    return this.serial(() => this.deleteNow(name));
  }

  private async deleteNow(name: string): Promise<{ removed: FolderMailbox } | { error: string }> {
    const normal = normalizeName(name);
    if (normal === 'INBOX') return { error: 'INBOX cannot be deleted' };
    const folder = this.folders.get(normal);
    if (folder === undefined) return { error: 'Mailbox does not exist' };
    if (this.hasChildren(normal)) return { error: 'Mailbox has children, delete them first' };
    await this.keepOnDisk();
    await folder.clear();
    this.folders.delete(normal);
    this.subscribed.delete(normal);
    await this.save();
    await this.stores.remove(folder.backing);
    return { removed: folder };
  }

  /**
   * RFC 3501 §6.3.5: renames a folder and its inferiors. Renaming INBOX moves
   * its messages into a new folder and leaves INBOX empty.
   */
  rename(from: string, to: string): Promise<string | null> {
    return this.serial(() => this.renameNow(from, to));
  }

  private async renameNow(from: string, to: string): Promise<string | null> {
    const source = normalizeName(from);
    const target = normalizeName(to);
    const invalid = invalidName(target);
    if (invalid !== null) return invalid;
    if (this.get(source) === null) return 'Mailbox does not exist';
    if (this.get(target) !== null) return 'Mailbox already exists';
    if (target.startsWith(`${source}${DELIMITER}`)) return 'Cannot rename a mailbox into itself';
    if (source === 'INBOX') {
      const created = await this.createNow(target);
      if (created !== null) return created;
      const folder = this.folders.get(target)!;
      const messages = this.inbox.messages();
      for (const m of messages) {
        const content = contentOf(m);
        if (content !== null) await folder.append({ ...content, flags: [...m.flags], internalDate: m.internalDate });
      }
      await this.inbox.expunge(messages);
      return null;
    }
    await this.keepOnDisk();
    // RFC 3501 §6.3.5: inferiors move with their superior (INBOX's stay, handled above).
    const moves = [...this.folders.entries()].filter(([name]) => name === source || name.startsWith(`${source}${DELIMITER}`));
    for (const [name] of moves) this.folders.delete(name);
    for (const [name, folder] of moves) {
      const renamed = target + name.slice(source.length);
      folder.name = renamed;
      this.folders.set(renamed, folder);
      if (this.subscribed.delete(name)) this.subscribed.add(renamed);
    }
    // Saved first with each folder's directory pinned where it is, so a crash while they move loses nothing.
    await this.save();
    for (const [, folder] of moves) await this.stores.rename(this.user, folder.name, folder.backing);
    // Superior levels of the new name exist too, as after CREATE.
    const levels = target.split(DELIMITER);
    await this.createLevels(levels, levels.length - 1);
    await this.save();
    return null;
  }

  /** RFC 3501 §6.3.6 and §6.3.7. */
  subscribe(name: string, on: boolean): Promise<void> {
    return this.serial(async () => {
      const normal = normalizeName(name);
      if (this.subscribed.has(normal) === on) return;
      await this.keepOnDisk();
      if (on) this.subscribed.add(normal);
      else this.subscribed.delete(normal);
      await this.save();
    });
  }

  private serial<T>(change: () => Promise<T>): Promise<T> {
    const done = this.changes.then(change);
    this.changes = done.catch(() => undefined);
    return done;
  }

  private folderOver(name: string, store: Store, specialUse: string | null): FolderMailbox {
    return new FolderMailbox(name, store, specialUse, this.quota, () => this.keepOnDisk());
  }

  /** Gives the account its place on disk: its folders, still empty defaults, move to stores there. */
  private keepOnDisk(): Promise<void> {
    this.onDisk ??= (async () => {
      for (const [name, folder] of this.folders) folder.moveTo(await this.stores.create(this.user, name, folder.uidValidity));
      await this.save();
    })().catch((error: unknown) => {
      this.onDisk = null;
      throw error;
    });
    return this.onDisk;
  }

  private save(): Promise<void> {
    const folders = [...this.folders.entries()].map(([name, folder]) => ({ name, uidValidity: folder.uidValidity, specialUse: folder.specialUse }));
    const stores = new Map([...this.folders].map(([name, folder]) => [name, folder.backing]));
    return this.stores.save({ user: this.user, folders, subscriptions: [...this.subscribed] }, stores);
  }
}

/** Why a name cannot be a mailbox's, or null. */
export function invalidName(name: string): string | null {
  if (name === '' || Buffer.byteLength(name) > MAX_NAME_BYTES) return 'Invalid mailbox name';
  if (/[\x00-\x1f\x7f*%]/.test(name)) return 'Mailbox names cannot hold control characters, * or %';
  const levels = name.split(DELIMITER);
  if (levels.length > MAX_LEVELS) return 'Mailbox hierarchy too deep';
  if (levels.some((level) => level === '')) return 'Invalid mailbox name';
  return null;
}

/**
 * Accounts past this many are forgotten, least recently used first, when no
 * session holds them: any name logs in by default, so names alone must not
 * grow memory without bound.
 */
const MAX_IDLE_ACCOUNTS = 1000;

/** Accounts by lower-cased user name, made at first login and kept with their folders. */
export class Accounts {
  private readonly byUser = new Map<string, Account>();

  constructor(
    private readonly store: Store,
    private readonly quota: FolderQuota,
    private readonly stores: FolderStores,
  ) {
    reserveUidValidity(store.uidValidity);
    for (const [key, kept] of stores.kept) {
      for (const folder of kept.folders) reserveUidValidity(folder.uidValidity);
      for (const folderStore of kept.stores.values()) quota.hold(folderStore.size, folderStore.bytes);
      this.byUser.set(key, new Account(store, kept.user, quota, stores, kept));
    }
  }

  /** The user's account, held until `release`; its folders outlive the session. */
  acquire(user: string): Account {
    const key = user.toLowerCase();
    let account = this.byUser.get(key);
    if (account === undefined) account = new Account(this.store, user, this.quota, this.stores);
    // Re-inserting keeps the Map in least-recently-used order.
    this.byUser.delete(key);
    this.byUser.set(key, account);
    account.sessions += 1;
    this.trim();
    return account;
  }

  release(account: Account): void {
    account.sessions -= 1;
    this.trim();
  }

  /** Accounts written to the data directory stay: their folders hold mail. */
  private trim(): void {
    if (this.byUser.size <= MAX_IDLE_ACCOUNTS) return;
    for (const [key, account] of this.byUser) {
      if (this.byUser.size <= MAX_IDLE_ACCOUNTS) break;
      if (account.sessions === 0 && !account.kept) this.byUser.delete(key);
    }
  }
}
