import { open, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { StoreJournal } from '../journal.js';
import { StoreWriteError, type StorePersistence } from '../store.js';
import { tagsOf } from '../tags.js';
import type { StoredMessage } from '../types.js';
import { JOURNAL_FILE, type JournalFile, type JournalLine } from './journal-file.js';
import { baseFor, placeOf, systemFlagsOf } from './names.js';
import { syncDir } from './sync.js';

/** What the journal keeps of a message: the store's own record once it has changed, what was loaded before. */
export type JournalMessage = Pick<StoredMessage, 'id' | 'uid' | 'receivedAt' | 'envelope' | 'smtp' | 'flags' | 'raw'>;

/** A message's file as it is on disk now. */
export interface FileRecord {
  message: JournalMessage;
  readonly base: string;
  dir: 'new' | 'cur';
  name: string;
  readonly size: number;
  /** The tags the journal holds for it. */
  tags: readonly string[];
  /** Deleted: its file is going, and flag changes no longer matter. */
  dead: boolean;
  /** When its file was written (Infinity until then), while the file may not be on disk yet and the journal holds its bytes; null once synced. */
  unsyncedSince: number | null;
  /** Settles once the file is written, so a rename or unlink of it comes after. */
  written: Promise<void>;
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

type Op =
  | { kind: 'add'; message: StoredMessage; base: string; dir: 'new' | 'cur'; name: string; waiter: Waiter }
  | { kind: 'flags'; record: FileRecord; waiter: Waiter }
  | { kind: 'remove'; ids: string[]; records: FileRecord[]; waiter: Waiter }
  | { kind: 'clear'; upToUid: number; records: FileRecord[]; waiter: Waiter };

/**
 * The journal is rewritten once it holds this many lines more than twice the
 * live messages, or, after a background sync, this many bytes more than the
 * message copies it must still keep.
 */
const REWRITE_SLACK = 10_000;
const REWRITE_RAW_BYTES = 64 * 1024 * 1024;
/**
 * Message files are synced this long after they were written, in the
 * background: by then the kernel has usually written them back (its dirty
 * pages expire after 30 s), so the sync costs little, and the journal can
 * let go of their bytes.
 */
const SYNC_AFTER_MS = 30_000;
const SYNC_CONCURRENCY = 2;
/**
 * New message files are written behind the replies, this many at a time:
 * creating a file costs far more than the journal's share, and the journal
 * already holds the message, so ingest need not wait for it.
 */
const WRITE_CONCURRENCY = 2;

export class MaildirJournal implements StoreJournal {
  private readonly records = new Map<string, FileRecord>();
  private queue: Op[] = [];
  /** Batches, moves and the close run one after another on this chain. */
  private tail: Promise<void> = Promise.resolve();
  private flushQueued = false;
  private messageBytes = 0;
  /** Bytes of messages the journal holds copies of (files not yet synced). */
  private rawInJournal = 0;
  private closed = false;
  private readonly syncTimer: NodeJS.Timeout;
  private readonly writer = new Limited(WRITE_CONCURRENCY);
  /** Records whose removal is queued but not yet in the journal: a rewrite meanwhile must keep them. */
  private readonly going = new Set<FileRecord>();
  private syncPass: Promise<void> | null = null;
  persistence: StorePersistence;

  constructor(
    private dir: string,
    private readonly file: JournalFile,
    /** Runs once the journal is closed (letting go of the data directory's lock). */
    private readonly onClose: () => Promise<void>,
    private readonly logger: Logger,
    private readonly uidValidity: number,
    /** Above every uid given, for the journal's header. */
    private uidNext: number,
    records: readonly FileRecord[],
  ) {
    for (const record of records) {
      this.records.set(record.message.id, record);
      this.messageBytes += record.size;
      if (record.unsyncedSince !== null) this.rawInJournal += record.size;
    }
    this.persistence = { dir, bytes: () => this.bytes };
    this.syncTimer = setInterval(() => void this.syncOldFiles(), SYNC_AFTER_MS / 3).unref();
  }

  /** Message files and journal together. */
  get bytes(): number {
    return this.messageBytes + this.file.bytes;
  }

  /** Adds what else the data directory holds (IMAP folders) to what /api/info reports. */
  countAlso(more: () => number): void {
    this.persistence = { dir: this.persistence.dir, bytes: () => this.bytes + more() };
  }

  add(message: StoredMessage): Promise<void> {
    this.uidNext = Math.max(this.uidNext, message.uid + 1);
    const base = baseFor(message.id, message.receivedAt, message.raw.length);
    const { dir, name } = placeOf(base, message.flags);
    return this.enqueue((waiter) => ({ kind: 'add', message, base, dir, name, waiter }));
  }

  flags(message: StoredMessage): Promise<void> {
    const record = this.records.get(message.id);
    if (record === undefined) return Promise.resolve();
    record.message = message;
    return this.enqueue((waiter) => ({ kind: 'flags', record, waiter }));
  }

  remove(messages: readonly StoredMessage[]): Promise<void> {
    const records = this.take(messages.map((m) => m.id));
    return this.enqueue((waiter) => ({ kind: 'remove', ids: messages.map((m) => m.id), records, waiter }));
  }

  clear(upToUid: number): Promise<void> {
    const ids = [...this.records.values()].filter((r) => r.message.uid <= upToUid).map((r) => r.message.id);
    const records = this.take(ids);
    return this.enqueue((waiter) => ({ kind: 'clear', upToUid, records, waiter }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.syncTimer);
    await this.syncPass;
    await this.exclusive(async () => {
      await this.writer.idle();
      await this.file.close();
      await this.onClose();
    });
  }

  /**
   * Moves the whole directory (an IMAP folder renamed) between batches, so no
   * write is under way, and later writes go to the new place.
   */
  relocate(to: string): Promise<void> {
    return this.exclusive(async () => {
      await this.writer.idle();
      await rename(this.dir, to);
      await syncDir(dirname(to));
      this.dir = to;
      this.file.moved(join(to, JOURNAL_FILE));
    });
  }

  private take(ids: readonly string[]): FileRecord[] {
    const taken: FileRecord[] = [];
    for (const id of ids) {
      const record = this.records.get(id);
      if (record === undefined) continue;
      record.dead = true;
      if (record.unsyncedSince !== null) this.rawInJournal -= record.size;
      this.records.delete(id);
      this.going.add(record);
      taken.push(record);
    }
    return taken;
  }

  private enqueue(make: (waiter: Waiter) => Op): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push(make({ resolve, reject }));
      if (this.flushQueued) return;
      this.flushQueued = true;
      void this.exclusive(async () => {
        // The rest of this turn's changes, and all that came while the batch before was written, join the batch.
        await new Promise((next) => setImmediate(next));
        this.flushQueued = false;
        const batch = this.queue;
        this.queue = [];
        await this.commit(batch);
      });
    });
  }

  private exclusive(work: () => Promise<void>): Promise<void> {
    const done = this.tail.then(work);
    this.tail = done.catch((error: unknown) => this.logger.error({ err: error }, 'a data directory write failed'));
    return done;
  }

  private async commit(batch: Op[]): Promise<void> {
    const failed = new Set<Op>();
    const fail = (op: Op, error: unknown): void => {
      failed.add(op);
      op.waiter.reject(error instanceof StoreWriteError ? error : new StoreWriteError(error));
    };

    const lines: JournalLine[] = [];
    const retagged: { record: FileRecord; tags: string[] }[] = [];
    const renames: { record: FileRecord; dir: 'new' | 'cur'; name: string }[] = [];
    const flagged = new Map<FileRecord, Extract<Op, { kind: 'flags' }>[]>();
    for (const op of batch) {
      switch (op.kind) {
        case 'add':
          lines.push(addedLine(op.message, op.base, true));
          break;
        case 'flags': {
          const { record } = op;
          // One look per message per batch: its flags now are what every change in the batch led to.
          const same = flagged.get(record);
          if (same !== undefined) same.push(op);
          if (record.dead || same !== undefined) break;
          flagged.set(record, [op]);
          const tags = tagsOf(record.message);
          if (!sameTags(tags, record.tags)) {
            lines.push({ t: 'g', id: record.message.id, tags });
            retagged.push({ record, tags });
          }
          const place = placeOf(record.base, record.message.flags);
          if (place.dir !== record.dir || place.name !== record.name) renames.push({ record, ...place });
          break;
        }
        case 'remove':
          if (op.ids.length > 0) lines.push({ t: 'd', ids: op.ids });
          break;
        case 'clear':
          lines.push({ t: 'c', upToUid: op.upToUid });
          break;
      }
    }

    try {
      await this.file.append(lines);
    } catch (error) {
      this.logger.error({ err: error }, 'the data directory journal could not be written');
      for (const op of batch) {
        fail(op, error);
        // Not deleted after all: the messages stay in the store, so their files stay known.
        if (op.kind === 'remove' || op.kind === 'clear') for (const record of op.records) this.revive(record);
      }
      return;
    }
    for (const { record, tags } of retagged) record.tags = tags;
    for (const op of batch) if (op.kind === 'remove' || op.kind === 'clear') for (const record of op.records) this.going.delete(record);
    const adds = batch.filter((op): op is Extract<Op, { kind: 'add' }> => op.kind === 'add');
    for (const op of adds) this.track(op);
    // Durable now: new messages' bytes and deletions are in the journal, so their replies need not wait for the files.
    for (const op of batch) if (op.kind !== 'flags') op.waiter.resolve();

    const touched = new Set<string>();
    await Promise.all(
      renames.map(async ({ record, dir, name }) => {
        const to = join(this.dir, dir, name);
        try {
          await record.written;
          await rename(join(this.dir, record.dir, record.name), to);
          touched.add(dirname(to));
          record.dir = dir;
          record.name = name;
        } catch (error) {
          this.logger.error({ err: error, file: record.name }, 'a message file could not be renamed for its flags');
          for (const op of flagged.get(record) ?? []) fail(op, error);
        }
      }),
    );
    try {
      await Promise.all([...touched].map((dir) => syncDir(dir)));
    } catch (error) {
      this.logger.error({ err: error }, 'the data directory could not be synced');
      for (const { record } of renames) for (const op of flagged.get(record) ?? []) if (!failed.has(op)) fail(op, error);
    }

    const gone = batch.flatMap((op) => (op.kind === 'remove' || op.kind === 'clear' ? op.records : []));
    await Promise.all(
      gone.map(async (record) => {
        this.messageBytes -= record.size;
        await record.written;
        // A file already gone (removed by another mail program) is what was wanted.
        await unlink(join(this.dir, record.dir, record.name)).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') this.logger.warn({ err: error, file: record.name }, 'a deleted message file could not be removed');
        });
      }),
    );

    for (const op of batch) if (op.kind === 'flags' && !failed.has(op)) op.waiter.resolve();
    await this.maybeRewrite();
  }

  private revive(record: FileRecord): void {
    this.going.delete(record);
    record.dead = false;
    if (record.unsyncedSince !== null) this.rawInJournal += record.size;
    this.records.set(record.message.id, record);
  }

  private track(op: Extract<Op, { kind: 'add' }>): void {
    const { message, base, dir, name } = op;
    const size = message.raw.length;
    const record: FileRecord = { message, base, dir, name, size, tags: tagsOf(message), dead: false, unsyncedSince: Number.POSITIVE_INFINITY, written: Promise.resolve() };
    record.written = this.writer.run(() => this.writeFile(op, record));
    this.records.set(message.id, record);
    this.messageBytes += size;
    this.rawInJournal += size;
  }

  /**
   * The message's file: written in tmp/ and renamed into place, so readers
   * never see part of it. No sync: the journal holds its bytes until one.
   * A file that cannot be written is written again from the journal at start.
   */
  private async writeFile({ message, name, dir }: Extract<Op, { kind: 'add' }>, record: FileRecord): Promise<void> {
    const temporary = join(this.dir, 'tmp', name);
    try {
      await writeFile(temporary, message.raw, { flag: 'wx', mode: 0o600 });
      await rename(temporary, join(this.dir, dir, name));
      if (record.unsyncedSince !== null) record.unsyncedSince = Date.now();
    } catch (error) {
      this.logger.error({ err: error, file: name }, 'a message file could not be written; the journal keeps the message, and the file is written at the next start');
      await unlink(temporary).catch(() => undefined);
    }
  }

  /** Syncs the files written long enough ago, so the journal may drop their bytes at its next rewrite. */
  private syncOldFiles(): Promise<void> {
    if (this.syncPass !== null || this.closed) return Promise.resolve();
    this.syncPass = this.syncPassNow().finally(() => {
      this.syncPass = null;
    });
    return this.syncPass;
  }

  private async syncPassNow(): Promise<void> {
    try {
      const due = Date.now() - SYNC_AFTER_MS;
      const old = [...this.records.values()].filter((r) => r.unsyncedSince !== null && r.unsyncedSince <= due);
      const synced: FileRecord[] = [];
      const limited = new Limited(SYNC_CONCURRENCY);
      const syncFile = async (record: FileRecord): Promise<void> => {
        const { dir, name } = record;
        try {
          const handle = await open(join(this.dir, dir, name), 'r');
          try {
            await handle.datasync();
          } finally {
            await handle.close();
          }
          synced.push(record);
        } catch (error) {
          // ENOENT: renamed (flags) or deleted meanwhile; a renamed file is synced at the next pass.
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.logger.warn({ err: error, file: name }, 'a message file could not be synced');
        }
      };
      await Promise.all(old.map((record) => limited.run(() => syncFile(record))));
      if (synced.length === 0) return;
      await Promise.all([syncDir(join(this.dir, 'new')), syncDir(join(this.dir, 'cur'))]);
      for (const record of synced) {
        if (record.unsyncedSince === null) continue;
        record.unsyncedSince = null;
        if (!record.dead) this.rawInJournal -= record.size;
      }
      if (this.rawInJournal + REWRITE_RAW_BYTES < this.file.bytes) await this.exclusive(() => this.maybeRewrite(true));
    } catch (error) {
      this.logger.warn({ err: error }, 'message files could not be synced; the journal keeps their bytes');
    }
  }

  /** Once deleted messages' lines outweigh the live ones, the journal is rewritten as the live state alone. */
  private async maybeRewrite(force = false): Promise<void> {
    if (this.closed || (!force && this.file.lines <= 2 * this.records.size + REWRITE_SLACK)) return;
    try {
      await this.rewrite();
    } catch (error) {
      this.logger.warn({ err: error }, 'the data directory journal could not be compacted; it keeps growing until it can');
    }
  }

  /** Writes the journal afresh as the live state alone; only while no batch runs (at start, or between batches). */
  async rewrite(): Promise<void> {
    // The rewrite forgets deletions, so their unlinks must be on disk first, or a crash would bring the files back as foreign.
    await Promise.all([syncDir(join(this.dir, 'new')), syncDir(join(this.dir, 'cur'))]);
    await this.file.rewrite(this.snapshot());
  }

  private snapshot(): JournalLine[] {
    const lines: JournalLine[] = [{ t: 'h', v: 1, uidValidity: this.uidValidity, uidNext: this.uidNext }];
    const live = [...this.records.values(), ...this.going].sort((a, b) => a.message.uid - b.message.uid);
    this.rawInJournal = 0;
    for (const record of live) {
      record.tags = tagsOf(record.message);
      const unsynced = record.unsyncedSince !== null;
      if (unsynced) this.rawInJournal += record.size;
      lines.push(addedLine(record.message, record.base, unsynced));
    }
    return lines;
  }
}

/** A message's journal line; with its bytes while its file may not be on disk. */
function addedLine(message: JournalMessage, base: string, withRaw: boolean): JournalLine {
  const tags = tagsOf(message);
  return {
    t: 'a',
    id: message.id,
    uid: message.uid,
    base,
    receivedAt: message.receivedAt,
    envelope: message.envelope,
    smtp: message.smtp,
    ...(tags.length > 0 ? { tags } : {}),
    // The file's name holds the system flags, but the file may not be written yet: rebuilt from here, it gets them back.
    ...(withRaw ? { raw: message.raw.toString('base64'), flags: systemFlagsOf(message.flags) } : {}),
  };
}

/** Runs work at most `limit` at a time, in the order given. */
class Limited {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly drained: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run(work: () => Promise<void>): Promise<void> {
    // A waiter is handed the slot of the job that ends, so `running` never drops while one waits.
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running += 1;
    try {
      await work();
    } finally {
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else if (--this.running === 0) for (const resolve of this.drained.splice(0)) resolve();
    }
  }

  idle(): Promise<void> {
    return this.running === 0 && this.waiting.length === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.drained.push(resolve));
  }
}


function sameTags(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((tag, i) => tag === b[i]);
}
