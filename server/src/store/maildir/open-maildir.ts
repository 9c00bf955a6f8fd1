import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { digestMessage } from '../../mime/digest.js';
import { IdGenerator } from '../ids.js';
import type { RestoredMessage, RestoredState } from '../journal.js';
import type { Envelope } from '../types.js';
import { JOURNAL_FILE, JournalFile, replay, type AddedLine } from './journal-file.js';
import { DataDirLock } from './lock.js';
import { MaildirJournal, type FileRecord } from './maildir-journal.js';
import { declaredSize, flagsOfInfo, placeOf, splitName, timeOfBase } from './names.js';

/** Marks the bases Mailroom writes (names.ts baseFor), so only its own leftovers in tmp/ are removed. */
const OWN_BASE = /^\d+\.[A-Za-z0-9_-]{16}\.mailroom,S=\d+$/;

export interface OpenedMaildir {
  journal: MaildirJournal;
  restored: RestoredState;
}

interface Found {
  dir: 'new' | 'cur';
  name: string;
}

async function names(path: string): Promise<string[]> {
  return (await readdir(path)).filter((name) => !name.startsWith('.'));
}

/**
 * Opens (creating if needed) a data directory: takes its lock, replays the
 * journal and reads every message file, so the store starts with the ids,
 * uids, flags, tags and SMTP details it had. Files Mailroom did not write
 * are taken in with fresh uids; files it cannot read, or shorter than their
 * name says, are skipped with one warning each.
 */
export async function openMaildir(dir: string, logger: Logger): Promise<OpenedMaildir> {
  const root = resolve(dir);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const lock = await DataDirLock.acquire(root);
  try {
    return await loadMaildir(root, logger, { onClose: () => lock.release() });
  } catch (error) {
    await lock.release();
    throw error;
  }
}

export interface LoadOptions {
  /** For a directory without a journal yet; a fresh value otherwise. */
  uidValidity?: number;
  onClose?: () => Promise<void>;
  /** Open the journal only while writing (folders: many, written now and then). */
  idleClose?: boolean;
}

/** Loads one Maildir (the data directory, or a folder's within it), creating it when missing; its owner holds the lock. */
export async function loadMaildir(root: string, logger: Logger, options: LoadOptions = {}): Promise<OpenedMaildir> {
  for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(root, sub), { recursive: true, mode: 0o700 });
  const journalPath = join(root, JOURNAL_FILE);
  const bytes = await readFile(journalPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  const replayed = replay(bytes ?? Buffer.alloc(0));
  if (replayed.unreadable > 0) logger.warn({ lines: replayed.unreadable, file: journalPath }, 'journal lines that could not be read were skipped');
  let changed = bytes === null || replayed.unreadable > 0 || replayed.goodLength < (bytes?.length ?? 0);
  const uidValidity = replayed.uidValidity ?? options.uidValidity ?? Math.floor(Date.now() / 1000);
  const byBase = new Map<string, AddedLine>();
  for (const added of replayed.live.values()) byBase.set(added.base, added);

  const found = new Map<string, Found>();
  const foreign: Found[] = [];
  for (const sub of ['cur', 'new'] as const) {
    for (const name of await names(join(root, sub))) {
      const { base } = splitName(name);
      if (replayed.dead.has(base)) {
        // Deleted, and the crash came before the file went.
        await unlink(join(root, sub, name)).catch(() => undefined);
        changed = true;
      } else if (byBase.has(base) && !found.has(base)) found.set(base, { dir: sub, name });
      else if (!byBase.has(base)) foreign.push({ dir: sub, name });
    }
  }
  for (const name of await names(join(root, 'tmp'))) {
    // Mailroom's own leftovers: a message the journal holds is written again from it below.
    if (OWN_BASE.test(splitName(name).base)) await unlink(join(root, 'tmp', name)).catch(() => undefined);
  }

  const messages: RestoredMessage[] = [];
  const records: FileRecord[] = [];
  const skip = (file: string, why: string, error?: unknown): void => {
    logger.warn({ file, err: error }, `a message file was skipped: ${why}`);
    changed = true;
  };
  // Read in one go, as nothing else runs yet: blocking reads are several times faster than the thread pool's.
  const read = (place: Found): Buffer | null => {
    const path = join(root, place.dir, place.name);
    let raw: Buffer;
    try {
      raw = readFileSync(path);
    } catch (error) {
      skip(path, 'it cannot be read', error);
      return null;
    }
    const declared = declaredSize(splitName(place.name).base);
    if (declared !== null && declared !== raw.length) {
      skip(path, `it holds ${raw.length} bytes where its name says ${declared}, so it was cut short`);
      return null;
    }
    return raw;
  };

  for (const added of [...replayed.live.values()].sort((a, b) => a.uid - b.uid)) {
    let place = found.get(added.base);
    let raw: Buffer | null;
    let unsyncedSince: number | null = null;
    if (added.raw !== undefined) {
      // Acknowledged with its bytes in the journal; its file may be missing or short after a crash.
      raw = Buffer.from(added.raw, 'base64');
      place ??= placeOf(added.base, new Set(added.flags ?? []));
      const path = join(root, place.dir, place.name);
      if (!sameFile(path, raw)) {
        writeFileSync(join(root, 'tmp', place.name), raw, { mode: 0o600 });
        renameSync(join(root, 'tmp', place.name), path);
      }
      // Synced in the background soon after start.
      unsyncedSince = 0;
    } else if (place === undefined) {
      // Gone from the directory: another mail program deleted it.
      changed = true;
      continue;
    } else raw = read(place);
    if (raw === null) continue;
    const flags = new Set([...flagsOfInfo(splitName(place.name).info), ...(added.tags ?? [])]);
    const message: RestoredMessage = { id: added.id, uid: added.uid, raw, envelope: added.envelope, smtp: added.smtp, receivedAt: added.receivedAt, flags };
    messages.push(message);
    records.push({ message, base: added.base, dir: place.dir, name: place.name, size: raw.length, tags: added.tags ?? [], dead: false, unsyncedSince, written: Promise.resolve() });
  }

  let uidNext = replayed.uidNext;
  if (foreign.length > 0) {
    const ids = new IdGenerator();
    const taken: { place: Found; raw: Buffer; receivedAt: number }[] = [];
    for (const place of foreign) {
      const raw = read(place);
      if (raw === null) continue;
      const receivedAt = timeOfBase(splitName(place.name).base) ?? statSync(join(root, place.dir, place.name)).mtimeMs;
      taken.push({ place, raw, receivedAt: Math.floor(receivedAt) });
    }
    // Oldest first, the name deciding ties, so the same directory always gets the same uids.
    taken.sort((a, b) => a.receivedAt - b.receivedAt || (a.place.name < b.place.name ? -1 : a.place.name > b.place.name ? 1 : 0));
    for (const { place, raw, receivedAt } of taken) {
      const digest = digestMessage(raw);
      const message: RestoredMessage = {
        id: ids.next(),
        uid: uidNext++,
        raw,
        envelope: envelopeOf(digest),
        smtp: { helo: null, remoteAddress: null, authUser: null, tls: false },
        receivedAt,
        flags: new Set(flagsOfInfo(splitName(place.name).info)),
        digest,
      };
      messages.push(message);
      records.push({ message, base: splitName(place.name).base, dir: place.dir, name: place.name, size: raw.length, tags: [], dead: false, unsyncedSince: null, written: Promise.resolve() });
    }
    logger.info({ messages: taken.length, dir: root }, 'messages Mailroom did not write were taken in');
    changed = true;
  }

  const journal = new MaildirJournal(root, await JournalFile.open(journalPath, replayed.goodLength, replayed.lines, options.idleClose), options.onClose ?? (async () => undefined), logger, uidValidity, uidNext, records);
  if (changed) await journal.rewrite();
  return { journal, restored: { uidValidity, uidNext, messages } };
}

/** Whether the file holds exactly these bytes. */
function sameFile(path: string, raw: Buffer): boolean {
  try {
    return readFileSync(path).equals(raw);
  } catch {
    return false;
  }
}

/** A message found in the directory has no SMTP envelope; its headers stand in for one, so per-recipient views still show it. */
function envelopeOf(digest: ReturnType<typeof digestMessage>): Envelope {
  const addresses = [...digest.to, ...digest.cc, ...digest.bcc].map((a) => a.address).filter((a) => a !== '');
  return { mailFrom: digest.from?.address ?? '', rcptTo: [...new Set(addresses)] };
}

