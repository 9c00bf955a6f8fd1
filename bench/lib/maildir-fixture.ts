import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { IdGenerator } from '../../server/src/store/ids.js';
import type { JournalLine } from '../../server/src/store/maildir/journal-file.js';
import { baseFor, placeOf } from '../../server/src/store/maildir/names.js';
import { JOURNAL_FILE } from '../../server/src/store/maildir/journal-file.js';
import { messageContents } from './messages.js';
import { onExit } from './processes.js';

/** A directory under the system's temporary one for this run's data directories, removed however the run ends. */
export function scratchDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'mailroom-bench-'));
  const remove = (): void => rmSync(path, { recursive: true, force: true });
  onExit(remove);
  return { path, remove };
}

export interface Fixture {
  messages: number;
  /** Raw bytes of all the message files together. */
  bytes: number;
  writeMs: number;
}

const NO_FLAGS: ReadonlySet<string> = new Set();

/**
 * A data directory as Mailroom leaves it after `count` messages arrived by
 * SMTP and nobody read them: each file in new/ under the name the server
 * gives it, and a journal of the header and one added line per message.
 * The server's own name and line code make them, so the format cannot drift
 * from what `openMaildir` reads. The messages are bench:smtp's, arrived one
 * a second up to now, to fifty recipients.
 */
export function writeMaildirFixture(dir: string, count: number, size: number): Fixture {
  const started = performance.now();
  for (const sub of ['tmp', 'new', 'cur']) mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
  const ids = new IdGenerator();
  const firstAt = Date.now() - count * 1000;
  const header: JournalLine = { t: 'h', v: 1, uidValidity: Math.floor(firstAt / 1000), uidNext: count + 1 };
  const lines = [`${JSON.stringify(header)}\n`];
  let bytes = 0;
  let uid = 0;
  for (const { mailFrom, rcptTo, content } of messageContents('stored', count, size)) {
    uid += 1;
    const raw = Buffer.from(content, 'latin1');
    const id = ids.next();
    const receivedAt = firstAt + uid * 1000;
    const base = baseFor(id, receivedAt, raw.length);
    const place = placeOf(base, NO_FLAGS);
    writeFileSync(join(dir, place.dir, place.name), raw, { mode: 0o600 });
    bytes += raw.length;
    const added: JournalLine = {
      t: 'a',
      id,
      uid,
      base,
      receivedAt,
      envelope: { mailFrom, rcptTo: [rcptTo] },
      smtp: { helo: 'bench.example.test', remoteAddress: '127.0.0.1', authUser: null, tls: false },
    };
    lines.push(`${JSON.stringify(added)}\n`);
  }
  writeFileSync(join(dir, JOURNAL_FILE), lines.join(''), { mode: 0o600 });
  // On disk before the timed load, so that it does not share the disk with the writeback of these files.
  execFileSync('sync');
  return { messages: count, bytes, writeMs: performance.now() - started };
}
