import type { StoredMessage } from '../store/types.js';

const LF = 0x0a;
const CR = 0x0d;

/**
 * A message as POP3 sends it: CRLF line ends whatever the stored bytes use
 * (RFC 1939 §3 speaks in CRLF lines), before byte-stuffing.
 */
export function wireBytes(raw: Buffer): Buffer {
  let bare = 0;
  for (let i = raw.indexOf(LF); i >= 0; i = raw.indexOf(LF, i + 1)) if (i === 0 || raw[i - 1] !== CR) bare += 1;
  if (bare === 0) return raw;
  const out = Buffer.allocUnsafe(raw.length + bare);
  let o = 0;
  let start = 0;
  for (let i = raw.indexOf(LF); i >= 0; i = raw.indexOf(LF, i + 1)) {
    if (i > 0 && raw[i - 1] === CR) continue;
    o += raw.copy(out, o, start, i);
    out[o++] = CR;
    out[o++] = LF;
    start = i + 1;
  }
  raw.copy(out, o, start);
  return out;
}

/** The octet count RFC 1939 §5 LIST reports: the message with CRLF line ends. */
export function wireSize(raw: Buffer): number {
  let bare = 0;
  for (let i = raw.indexOf(LF); i >= 0; i = raw.indexOf(LF, i + 1)) if (i === 0 || raw[i - 1] !== CR) bare += 1;
  return raw.length + bare;
}

export interface DropEntry {
  message: StoredMessage;
  size: number;
  deleted: boolean;
}

/**
 * The maildrop of one session: a snapshot taken at login, numbered 1..n
 * (RFC 1939 §4), with deletion marks that only QUIT carries out.
 */
export class Maildrop {
  readonly entries: DropEntry[];

  constructor(messages: readonly StoredMessage[]) {
    this.entries = messages.map((message) => ({ message, size: wireSize(message.raw), deleted: false }));
  }

  /** The entry a message-number argument names, or why there is none. */
  get(arg: string | undefined): DropEntry | string {
    if (arg === undefined || !/^\d{1,9}$/.test(arg)) return 'Invalid message number';
    const entry = this.entries[Number(arg) - 1];
    if (!entry) return `No message ${arg}`;
    if (entry.deleted) return `Message ${arg} is deleted`;
    return entry;
  }

  live(): { number: number; entry: DropEntry }[] {
    return this.entries.flatMap((entry, i) => (entry.deleted ? [] : [{ number: i + 1, entry }]));
  }
}
