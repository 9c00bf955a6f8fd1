import { access, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import { MessageStore } from '../message-store.js';
import { UNLIMITED, type AccountRecord, type FolderStores, type KeptAccount } from '../folder-stores.js';
import { StoreWriteError, type Store } from '../store.js';
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
    record.folders.every(
      (f) => typeof f?.name === 'string' && Number.isInteger(f.uidValidity) && (f.specialUse === null || typeof f.specialUse === 'string') && (f.dir === undefined || (typeof f.dir === 'string' && f.dir.startsWith('.') && !f.dir.includes('/'))),
    )
  );
}

/** Turns a file-system failure into the store's own error, which every protocol answers as such. */
async function written<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw error instanceof StoreWriteError ? error : new StoreWriteError(error);
  }
}

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

/** IMAP users' folders as Maildir++ folders of the data directory, each with its own journal. */
export class MaildirFolderStores implements FolderStores {
  readonly durable = true;
  /** Each folder's journal and directory. */
  private readonly journals = new Map<Store, { journal: MaildirJournal; dir: string }>();

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
      for (const folder of record.folders) {
        const named = folderDir(root, record.user, folder.name);
        // A pinned directory gone and the named one there: the crash came between a rename's move and its second save.
        const path = folder.dir !== undefined && ((await exists(join(root, folder.dir))) || !(await exists(named))) ? join(root, folder.dir) : named;
        folderStores.set(folder.name, await stores.load(path, folder.uidValidity));
      }
      stores.kept.set(record.user.toLowerCase(), { ...record, stores: folderStores });
    }
    return stores;
  }

  ephemeral(uidValidity: number): Store {
    return new MessageStore(UNLIMITED, { uidValidity });
  }

  create(user: string, name: string, uidValidity: number): Promise<Store> {
    return written(async () => {
      const path = await this.freeDir(folderDir(this.root, user, name));
      const store = await this.load(path, uidValidity);
      await syncDir(this.root);
      return store;
    });
  }

  remove(store: Store): Promise<void> {
    return written(async () => {
      const folder = this.journals.get(store);
      await store.close();
      this.journals.delete(store);
      if (folder !== undefined) await rm(folder.dir, { recursive: true, force: true });
    });
  }

  rename(user: string, to: string, store: Store): Promise<void> {
    return written(async () => {
      const folder = this.journals.get(store);
      if (folder === undefined) return;
      const target = await this.freeDir(folderDir(this.root, user, to));
      await folder.journal.relocate(target);
      folder.dir = target;
    });
  }

  /** Written beside, synced, renamed over the old one: a crash leaves one or the other. */
  save(account: AccountRecord, stores: ReadonlyMap<string, Store>): Promise<void> {
    return written(async () => {
      const folders = account.folders.map((folder) => {
        const dir = this.journals.get(stores.get(folder.name)!)?.dir;
        return dir === undefined || dir === folderDir(this.root, account.user, folder.name) ? folder : { ...folder, dir: basename(dir) };
      });
      const dir = join(this.root, ACCOUNTS_DIR);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const path = join(dir, `${escapeLevel(account.user.toLowerCase())}.json`);
      const handle = await open(`${path}.new`, 'w', 0o600);
      try {
        await handle.writeFile(JSON.stringify({ ...account, folders }));
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(`${path}.new`, path);
      await syncDir(dir);
    });
  }

  /** Bytes every folder's messages and journal take. */
  bytes(): number {
    let total = 0;
    for (const { journal } of this.journals.values()) total += journal.bytes;
    return total;
  }

  async close(): Promise<void> {
    await Promise.all([...this.journals.keys()].map((store) => store.close()));
    this.journals.clear();
  }

  /** `path`, or the first of `path~1`, `path~2`... that no directory holds: what is on disk and unknown is never removed. */
  private async freeDir(path: string): Promise<string> {
    let candidate = path;
    for (let n = 1; await exists(candidate); n++) candidate = `${path}~${n}`;
    return candidate;
  }

  private async load(dir: string, uidValidity: number): Promise<Store> {
    const { journal, restored } = await loadMaildir(dir, this.logger, { uidValidity, idleClose: true });
    const store = new MessageStore(UNLIMITED, { journal, restored });
    this.journals.set(store, { journal, dir });
    return store;
  }
}
