import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';

/** What a running Mailroom tells the commands beside it: where its API and SMTP listener are. */
export interface ReadyInfo {
  pid: number;
  apiUrl: string;
  host: string;
  ports: Record<string, number>;
}

/** Far more than the file ever holds; a bigger one is not ours and is not read. */
const MAX_READY_FILE_BYTES = 64 * 1024;

/** Written whole or not at all (a rename), so a reader never sees half a file. */
export function writeReadyFile(path: string, info: ReadyInfo): void {
  const partial = `${path}.${process.pid}.tmp`;
  writeFileSync(partial, `${JSON.stringify(info)}\n`, { mode: 0o644 });
  renameSync(partial, path);
}

/** Removes the file if it is still this process's, so a second Mailroom's file survives the first one's exit. */
export function removeReadyFile(path: string): void {
  if (readReadyFile(path)?.pid === process.pid) rmSync(path, { force: true });
}

/** The file's contents, or null when it is absent, too big or not what Mailroom writes. */
export function readReadyFile(path: string | undefined): ReadyInfo | null {
  if (!path) return null;
  try {
    if (statSync(path).size > MAX_READY_FILE_BYTES) return null;
    const info = JSON.parse(readFileSync(path, 'utf8')) as Partial<ReadyInfo>;
    const wellFormed =
      typeof info.pid === 'number' &&
      typeof info.apiUrl === 'string' &&
      /^https?:\/\/[^/\s]+$/.test(info.apiUrl) &&
      typeof info.host === 'string' &&
      typeof info.ports === 'object' &&
      info.ports !== null &&
      Object.values(info.ports).every((port) => Number.isInteger(port));
    return wellFormed ? (info as ReadyInfo) : null;
  } catch {
    return null;
  }
}
