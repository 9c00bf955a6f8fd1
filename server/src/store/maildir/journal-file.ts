import { open, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Envelope, SmtpDetails } from '../types.js';
import { syncDir } from './sync.js';

export const JOURNAL_FILE = 'mailroom-journal.jsonl';

/**
 * Mailroom's own facts about the messages, which Maildir has no place for,
 * as JSON lines appended to one file: a header, then one line per change.
 * A line counts once it ends with a newline and the file is synced, so a
 * crash leaves at most a torn last line, which replay drops. A new
 * message's line carries its bytes (base64) until its file is synced.
 */
export type JournalLine =
  | { t: 'h'; v: 1; uidValidity: number; uidNext: number }
  | { t: 'a'; id: string; uid: number; base: string; receivedAt: number; envelope: Envelope; smtp: SmtpDetails; tags?: string[]; raw?: string; flags?: string[] }
  | { t: 'g'; id: string; tags: string[] }
  | { t: 'd'; ids: string[] }
  | { t: 'c'; upToUid: number };

export type AddedLine = Extract<JournalLine, { t: 'a' }>;

export interface Replayed {
  uidValidity: number | null;
  uidNext: number;
  /** Live messages by id, in the order they were added. */
  live: Map<string, AddedLine>;
  /** Bases of messages deleted: files still carrying them are removed. */
  dead: Set<string>;
  /** Lines read, for deciding when to rewrite the file. */
  lines: number;
  /** Bytes up to the end of the last whole line. */
  goodLength: number;
  /** Lines that could not be read, other than a torn last one. */
  unreadable: number;
}

export function replay(bytes: Buffer): Replayed {
  const result: Replayed = { uidValidity: null, uidNext: 1, live: new Map(), dead: new Set(), lines: 0, goodLength: 0, unreadable: 0 };
  let start = 0;
  while (start < bytes.length) {
    const end = bytes.indexOf(0x0a, start);
    // No newline: the write of this line never finished.
    if (end < 0) break;
    const text = bytes.toString('utf8', start, end);
    start = end + 1;
    result.goodLength = start;
    result.lines += 1;
    let line: JournalLine;
    try {
      line = JSON.parse(text) as JournalLine;
    } catch {
      result.unreadable += 1;
      continue;
    }
    apply(result, line);
  }
  return result;
}

function apply(state: Replayed, line: JournalLine): void {
  switch (line.t) {
    case 'h':
      state.uidValidity = line.uidValidity;
      state.uidNext = Math.max(state.uidNext, line.uidNext);
      return;
    case 'a':
      state.live.set(line.id, line);
      state.uidNext = Math.max(state.uidNext, line.uid + 1);
      return;
    case 'g': {
      const added = state.live.get(line.id);
      if (added !== undefined) added.tags = line.tags;
      return;
    }
    case 'd':
      for (const id of line.ids) {
        const added = state.live.get(id);
        if (added === undefined) continue;
        state.live.delete(id);
        state.dead.add(added.base);
      }
      return;
    case 'c':
      for (const [id, added] of state.live) {
        if (added.uid > line.upToUid) continue;
        state.live.delete(id);
        state.dead.add(added.base);
      }
      return;
    default:
      state.unreadable += 1;
  }
}

/** Writes all of `data` at the handle's position: a write may stop short (a file-size limit, a full disk) before a later one fails outright. */
async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  for (let done = 0; done < data.length; ) done += (await handle.write(data, done, data.length - done, null)).bytesWritten;
}

const linesOf = (lines: readonly JournalLine[]): Buffer => Buffer.from(lines.map((line) => `${JSON.stringify(line)}\n`).join(''));

/**
 * The journal file, appended to by one writer at a time (the committer's
 * batches). With `idleClose` (a folder's journal, written now and then) the
 * file is open only while a batch writes, so many folders hold no descriptors.
 */
export class JournalFile {
  private handle: FileHandle | null = null;
  /** Set when the file could not be cut back after a failed append: nothing more is appended to it. */
  private broken: unknown = null;

  private constructor(
    private path: string,
    private length: number,
    /** Lines in the file, to tell when a rewrite would shrink it. */
    public lines: number,
    private readonly idleClose: boolean,
  ) {}

  /** Opens the file for appending, first cutting off a torn last line so new lines start clean. */
  static async open(path: string, goodLength: number, lines: number, idleClose = false): Promise<JournalFile> {
    const file = new JournalFile(path, goodLength, lines, idleClose);
    const handle = await file.opened();
    const { size } = await handle.stat();
    if (size > goodLength) {
      await handle.truncate(goodLength);
      await handle.datasync();
    }
    await file.idle();
    return file;
  }

  get bytes(): number {
    return this.length;
  }

  /** The directory was renamed around the open file. */
  moved(path: string): void {
    this.path = path;
  }

  /** Appends whole lines and syncs them; on failure the file is cut back, so no partial line stays. */
  async append(lines: readonly JournalLine[]): Promise<void> {
    if (lines.length === 0) return;
    if (this.broken !== null) throw this.broken;
    const data = linesOf(lines);
    const handle = await this.opened();
    try {
      await writeAll(handle, data);
      await handle.datasync();
    } catch (error) {
      try {
        await handle.truncate(this.length);
      } catch {
        // A torn line would swallow the next batch's first line at replay; a rewrite (or a restart) mends the file.
        this.broken = error;
      }
      throw error;
    } finally {
      await this.idle();
    }
    this.length += data.length;
    this.lines += lines.length;
  }

  /**
   * Replaces the file with `lines` (the live state): written beside it,
   * synced, renamed over it, the directory synced, so a crash leaves either
   * the old file or the new one.
   */
  async rewrite(lines: readonly JournalLine[]): Promise<void> {
    const next = `${this.path}.new`;
    const data = linesOf(lines);
    const handle = await open(next, 'w', 0o600);
    try {
      await writeAll(handle, data);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    // From the rename on, appends must go to the new file, whatever fails after it.
    await this.handle?.close().catch(() => undefined);
    this.handle = null;
    await rename(next, this.path);
    this.length = data.length;
    this.lines = lines.length;
    this.broken = null;
    await syncDir(dirname(this.path));
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = null;
  }

  private async opened(): Promise<FileHandle> {
    this.handle ??= await open(this.path, 'a+', 0o600);
    return this.handle;
  }

  private async idle(): Promise<void> {
    if (!this.idleClose) return;
    await this.close();
  }
}
