import { isUtf8 } from 'node:buffer';
import { goJson } from '../go-json.js';

/**
 * JSON as MailHog's json.Marshal and json.MarshalIndent write it, for values
 * shaped like its Go types:
 *
 * - strings are Go strings, that is bytes: a Buffer, or a JS string holding
 *   one byte per character (latin1), so that header names sort as Go sorts
 *   them and invalid UTF-8 comes out as Go writes it;
 * - a Map is a Go map, written with its keys sorted bytewise (MailHog's
 *   header maps); a plain object is a struct, its fields in declaration order;
 * - a bigint is an int64 too large for a JS number (a `start` echoed back).
 *
 * The text comes out as pieces, so that a listing of large messages is
 * streamed instead of built as one string: a message's JSON repeats its body
 * once per level of MIME nesting, and a list of them could pass V8's largest
 * string.
 */
export function* goJsonPieces(value: unknown, { indent }: { indent: boolean }): Generator<string> {
  let pending = '';
  for (const piece of pieces(value, indent ? '\n' : null)) {
    pending += piece;
    if (pending.length >= PIECE_CHARS) {
      yield pending;
      pending = '';
    }
  }
  if (pending !== '') yield pending;
}

/** Small pieces are gathered up to this many characters, so a stream writes a few large chunks, not one per token. */
const PIECE_CHARS = 64 * 1024;

/** `newline` is null for compact output, else the line break plus the current indentation. */
function* pieces(value: unknown, newline: string | null): Generator<string> {
  if (value === null) {
    yield 'null';
  } else if (typeof value === 'string' || Buffer.isBuffer(value)) {
    yield goJson(goText(value), { newline: false });
  } else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    yield String(value);
  } else if (Array.isArray(value)) {
    const array: readonly unknown[] = value;
    yield* members('[', ']', array.length, newline, function* (i, inner) {
      yield* pieces(array[i], inner);
    });
  } else if (value instanceof Map) {
    const map = value as Map<string, unknown>;
    const keys = [...map.keys()].sort(byBytes);
    yield* members('{', '}', keys.length, newline, function* (i, inner) {
      yield `${goJson(goText(keys[i]!), { newline: false })}:${newline === null ? '' : ' '}`;
      yield* pieces(map.get(keys[i]!), inner);
    });
  } else {
    const fields = Object.entries(value as Record<string, unknown>);
    yield* members('{', '}', fields.length, newline, function* (i, inner) {
      yield `${goJson(fields[i]![0], { newline: false })}:${newline === null ? '' : ' '}`;
      yield* pieces(fields[i]![1], inner);
    });
  }
}

/** A JSON array or object; MarshalIndent writes an empty one as `[]` or `{}` on one line. */
function* members(
  open: string,
  close: string,
  count: number,
  newline: string | null,
  member: (index: number, newline: string | null) => Generator<string>,
): Generator<string> {
  yield open;
  const inner = newline === null ? null : `${newline}  `;
  for (let i = 0; i < count; i++) {
    if (i > 0) yield ',';
    if (inner !== null) yield inner;
    yield* member(i, inner);
  }
  if (count > 0 && newline !== null) yield newline;
  yield close;
}

/** Go sorts map keys by their bytes; latin1 strings compare by byte with `<`. */
function byBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A Go string (bytes) as the text Go's JSON encoder writes for it: UTF-8 read
 * as such, and each byte that does not start a valid UTF-8 sequence replaced
 * by U+FFFD on its own (Node's decoder would replace a broken sequence once).
 */
export function goText(bytes: string | Buffer): string {
  if (typeof bytes === 'string') {
    if (/^[\x00-\x7f]*$/.test(bytes)) return bytes;
    bytes = Buffer.from(bytes, 'latin1');
  }
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let text = '';
  let start = 0;
  for (let i = 0; i < bytes.length; ) {
    const length = sequenceLength(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    text += `${bytes.toString('utf8', start, i)}\ufffd`;
    i += 1;
    start = i;
  }
  return text + bytes.toString('utf8', start);
}

/** Length of the valid UTF-8 sequence at `i` by Go's utf8.DecodeRune (no overlongs, surrogates or code points past U+10FFFF), or 0. */
function sequenceLength(bytes: Buffer, i: number): number {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return 1;
  const cont = (at: number, low = 0x80, high = 0xbf): boolean => {
    const b = bytes[at];
    return b !== undefined && b >= low && b <= high;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const second = b0 === 0xe0 ? cont(i + 1, 0xa0) : b0 === 0xed ? cont(i + 1, 0x80, 0x9f) : cont(i + 1);
    return second && cont(i + 2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const second = b0 === 0xf0 ? cont(i + 1, 0x90) : b0 === 0xf4 ? cont(i + 1, 0x80, 0x8f) : cont(i + 1);
    return second && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}
