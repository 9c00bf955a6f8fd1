import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { MessageStore } from '../message-store.js';
import { UNLIMITED, type AccountRecord, type FolderStores, type KeptAccount } from '../folder-stores.js';
import type { Store } from '../store.js';
import type { MaildirJournal } from './maildir-journal.js';
import { loadMaildir } from './open-maildir.js';
import { syncDir } from './sync.js';

/** One file per account that has written anything, holding its folder list and subscriptions. */
const ACCOUNTS_DIR = 'mailroom-accounts';

/** Characters a Maildir++ folder name keeps as they are; every other byte is written `\xx`, as Dovecot's listescape does. */
const PLAIN = /^[A-Za-z0-9 _@+,=!#$%&'()~-]$/;

function escapeLevel(text: string): string {
  let escaped = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    escaped += byte < 0x80 && PLAIN.test(char) ? char : `\\${byte.toString(16).padStart(2, '0')}`;
  }
  return escaped;
}

/**
 * A user's folder as a Maildir++ folder of the data directory: `.user.level.level`,
 * so Dovecot or mutt opening the directory see each user's folders under a
 * folder named after the user (`.` being Maildir++'s hierarchy separator,
 * dots within names are escaped).
 */
export function folderDir(root: string, user: string, name: string): string {
  return join(root, `.${[user.toLowerCase(), ...name.split('/')].map(escapeLevel).join('.')}`);
}

function isAccountRecord(value: unknown): value is AccountRecord {
  const record = value as AccountRecord | null;
  return (
    typeof record?.user === 'string' &&
    Array.isArray(record.subscriptions) &&
    record.subscriptions.every((s) => typeof s === 'string') &&
    Array.isArray(record.folders) &&
    record.folders.every((f) => typeof f?.name === 'string' && Number.isInteger(f.uidValidity) && (f.specialUse === null || typeof f.specialUse === 'string'))
  );
}

/** IMAP users' folders as Maildir++ folders of the data directory, each with its own journal. */
export class MaildirFolderStores implements FolderStores {
  readonly durable = true;
  private readonly journals = new Map<Store, MaildirJournal>();

  private constructor(
    private readonly root: string,
    private readonly logger: Logger,
    readonly kept: Map<string, KeptAccount>,
  ) {}

  /** Loads every account written before, with its folders' messages. */
  static async open(root: string, logger: Logger): Promise<MaildirFolderStores> {
    const stores = new MaildirFolderStores(root, logger, new Map());
    const dir = join(root, ACCOUNTS_DIR);
    // Made by the first account written: a data directory no IMAP user filed anything in has none.
    const files = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    for (const file of files.filter((name) => name.endsWith('.json')).sort()) {
      let record: unknown;
      try {
        record = JSON.parse(await readFile(join(dir, file), 'utf8'));
      } catch (error) {
        logger.warn({ file: join(dir, file), err: error }, 'an IMAP account file could not be read; its folders were not loaded');
        continue;
      }
      if (!isAccountRecord(record)) {
        logger.warn({ file: join(dir, file) }, 'an IMAP account file is not in the expected shape; its folders were not loaded');
        continue;
      }
      const folderStores = new Map<string, Store>();
      for (const folder of record.folders) folderStores.set(folder.name, await stores.load(record.user, folder.name, folder.uidValidity, false));
      stores.kept.set(record.user.toLowerCase(), { ...record, stores: folderStores });
    }
    return stores;
  }

  ephemeral(uidValidity: number): Store {
    return new MessageStore(UNLIMITED, { uidValidity });
  }

  create(user: string, name: string, uidValidity: number): Promise<Store> {
    return this.load(user, name, uidValidity, true);
  }

  async remove(user: string, name: string, store: Store): Promise<void> {
    await store.close();
    this.journals.delete(store);
    await rm(folderDir(this.root, user, name), { recursive: true, force: true });
  }

  async rename(user: string, from: string, to: string, store: Store): Promise<void> {
    const target = folderDir(this.root, user, to);
    // A directory left by a folder of that name that could not be removed would be in the way.
    await rm(target, { recursive: true, force: true });
    await this.journals.get(store)?.relocate(target);
  }

  /** Written beside, synced, renamed over the old one: a crash leaves one or the other. */
  async save(account: AccountRecord): Promise<void> {
    const dir = join(this.root, ACCOUNTS_DIR);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `${escapeLevel(account.user.toLowerCase())}.json`);
    const handle = await open(`${path}.new`, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(account));
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(`${path}.new`, path);
    await syncDir(dir);
  }

  /** Bytes every folder's messages and journal take. */
  bytes(): number {
    let total = 0;
    for (const journal of this.journals.values()) total += journal.bytes;
    return total;
  }

  async close(): Promise<void> {
    await Promise.all([...this.journals.keys()].map((store) => store.close()));
    this.journals.clear();
  }

  private async load(user: string, name: string, uidValidity: number, fresh: boolean): Promise<Store> {
    const dir = folderDir(this.root, user, name);
    // A new folder starts empty even where an old one of that name could not be removed.
    if (fresh) await rm(dir, { recursive: true, force: true });
    const { journal, restored } = await loadMaildir(dir, this.logger, { uidValidity });
    if (fresh) await syncDir(this.root);
    const store = new MessageStore(UNLIMITED, { journal, restored });
    this.journals.set(store, journal);
    return store;
  }
}
