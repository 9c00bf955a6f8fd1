import type { MessageStore } from '../../store/message-store.js';
import { contentOf } from '../message.js';
import { FolderMailbox } from './folder-mailbox.js';
import { InboxMailbox } from './inbox-mailbox.js';
import { nextUidValidity, type Mailbox } from './mailbox.js';
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
 * One user's mailboxes: INBOX over the captured mail, and folders kept in
 * memory for the life of the process. Every session of that user shares them.
 */
export class Account {
  readonly inbox: InboxMailbox;
  private readonly folders = new Map<string, FolderMailbox>();
  readonly subscriptions = new Set<string>(['INBOX']);
  /** Logged-in sessions using the account. */
  sessions = 0;

  constructor(
    store: MessageStore,
    user: string,
    private readonly quota: FolderQuota,
  ) {
    this.inbox = new InboxMailbox(store, user, nextUidValidity());
    for (const [name, use] of SPECIAL_FOLDERS) {
      this.folders.set(name, new FolderMailbox(name, nextUidValidity(), use, quota));
      this.subscriptions.add(name);
    }
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
  create(name: string): string | null {
    const normal = normalizeName(name.endsWith(DELIMITER) ? name.slice(0, -1) : name);
    const invalid = invalidName(normal);
    if (invalid !== null) return invalid;
    if (this.get(normal) !== null) return 'Mailbox already exists';
    const levels = normal.split(DELIMITER);
    if (this.folders.size + levels.length > MAX_FOLDERS) return `A user has at most ${MAX_FOLDERS} folders`;
    this.createLevels(levels, levels.length);
    return null;
  }

  /** The first `count` levels of a hierarchy, each made when missing (RFC 3501 §6.3.3 creates superiors too). */
  private createLevels(levels: readonly string[], count: number): void {
    for (let i = 1; i <= count; i++) {
      const path = levels.slice(0, i).join(DELIMITER);
      if (path === 'INBOX' || this.folders.has(path)) continue;
      this.folders.set(path, new FolderMailbox(path, nextUidValidity(), null, this.quota));
    }
  }

  /** RFC 3501 §6.3.4: INBOX cannot go; a folder with inferiors stays until they are gone, as in Dovecot. */
  delete(name: string): { removed: FolderMailbox } | { error: string } {
    const normal = normalizeName(name);
    if (normal === 'INBOX') return { error: 'INBOX cannot be deleted' };
    const folder = this.folders.get(normal);
    if (folder === undefined) return { error: 'Mailbox does not exist' };
    if (this.hasChildren(normal)) return { error: 'Mailbox has children, delete them first' };
    this.folders.delete(normal);
    this.subscriptions.delete(normal);
    folder.clear();
    return { removed: folder };
  }

  /**
   * RFC 3501 §6.3.5: renames a folder and its inferiors. Renaming INBOX moves
   * its messages into a new folder and leaves INBOX empty.
   */
  rename(from: string, to: string): string | null {
    const source = normalizeName(from);
    const target = normalizeName(to);
    const invalid = invalidName(target);
    if (invalid !== null) return invalid;
    if (this.get(source) === null) return 'Mailbox does not exist';
    if (this.get(target) !== null) return 'Mailbox already exists';
    if (target.startsWith(`${source}${DELIMITER}`)) return 'Cannot rename a mailbox into itself';
    if (source === 'INBOX') {
      const created = this.create(target);
      if (created !== null) return created;
      const folder = this.folders.get(target)!;
      const messages = this.inbox.messages();
      for (const m of messages) {
        const content = contentOf(m);
        if (content !== null) folder.append({ ...content, flags: [...m.flags], internalDate: m.internalDate });
      }
      this.inbox.expunge(messages);
      return null;
    }
    // RFC 3501 §6.3.5: inferiors move with their superior (INBOX's stay, handled above).
    const moves = [...this.folders.entries()].filter(([name]) => name === source || name.startsWith(`${source}${DELIMITER}`));
    for (const [name] of moves) this.folders.delete(name);
    for (const [name, folder] of moves) {
      const renamed = target + name.slice(source.length);
      folder.name = renamed;
      this.folders.set(renamed, folder);
      if (this.subscriptions.delete(name)) this.subscriptions.add(renamed);
    }
    // Superior levels of the new name exist too, as after CREATE.
    const levels = target.split(DELIMITER);
    this.createLevels(levels, levels.length - 1);
    return null;
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
    private readonly store: MessageStore,
    private readonly quota: FolderQuota,
  ) {}

  /** The user's account, held until `release`; its folders outlive the session. */
  acquire(user: string): Account {
    const key = user.toLowerCase();
    let account = this.byUser.get(key);
    if (account === undefined) account = new Account(this.store, user, this.quota);
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

  private trim(): void {
    if (this.byUser.size <= MAX_IDLE_ACCOUNTS) return;
    for (const [key, account] of this.byUser) {
      if (this.byUser.size <= MAX_IDLE_ACCOUNTS) break;
      if (account.sessions === 0) this.byUser.delete(key);
    }
  }
}
