import type { Rng } from './random.js';

/** Numbers that break parsers: zero, negatives, overflow of 32 and 64 bits, floats, other bases. */
export const HOSTILE_NUMBERS = [
  '0', '-1', '1', '2', '00001', '4294967295', '4294967296', '2147483648', '9007199254740993',
  '18446744073709551616', '99999999999999999999999', '1e3', '1.5', '0x10', 'NaN', 'Infinity', '-0', '+1', '١', '¹',
];

/** Short strings with meaning to some parser: quoting, lists, literals, wildcards, escapes, format strings. */
export const HOSTILE_TOKENS = [
  '"', '\\', '(', ')', '()', '[', ']', '{', '}', '<', '>', '<>', '*', '%', '{0}', '{1}', '{5}', '{10+}', '{4294967296}',
  '{18446744073709551616+}', '{-1}', '%s%s%n', '../../', '${x}', '\t', ' ', 'NIL', '~{1}', '=?utf-8?b?AA==?=', '\\Deleted',
  'ſ', 'ı', 'K', '\u202e', '\u0000', 'é', '😀', '\uFEFF',
];

/** Byte sequences that are not valid UTF-8: overlong, surrogate halves, stray continuation bytes, 5-byte forms. */
const INVALID_UTF8 = [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0x80], [0xff, 0xfe], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]];

export const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');
export const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');

/** Joins parts (strings taken as UTF-8) into one buffer. */
export function bytes(...parts: (string | Buffer)[]): Buffer {
  return Buffer.concat(parts.map((part) => (typeof part === 'string' ? utf8(part) : part)));
}

/**
 * An argument, most often as given, otherwise mutated: emptied, cut, grown
 * to `long` bytes, or given NULs, bare CR or LF, 8-bit and invalid UTF-8
 * bytes, Unicode that case-folds to ASCII, hostile numbers or tokens.
 */
export function mutateArg(rng: Rng, value: string, p: number, long: readonly number[] = [300, 1100, 5000]): Buffer {
  if (!rng.chance(p)) return utf8(value);
  const v = utf8(value);
  const at = v.length === 0 ? 0 : rng.int(0, v.length);
  const insert = (piece: Buffer): Buffer => Buffer.concat([v.subarray(0, at), piece, v.subarray(at)]);
  switch (rng.int(0, 15)) {
    case 0:
      return Buffer.alloc(0);
    case 1: {
      const n = rng.pick(long);
      const unit = v.length > 0 && rng.chance(0.5) ? v : utf8(rng.pick(['A', 'a', '*', '%', '.', '9', ' ', '(', '\\', '"']));
      return Buffer.alloc(n, unit);
    }
    case 2:
      return insert(Buffer.from([0]));
    case 3:
      return insert(Buffer.from([0x0d]));
    case 4:
      return insert(Buffer.from([0x0a]));
    case 5:
      return insert(Buffer.from(rng.pick(INVALID_UTF8)));
    case 6:
      return insert(Buffer.from(rng.bytes(rng.int(1, 12)).map((b) => b | 0x80)));
    case 7:
      return utf8(rng.pick(HOSTILE_NUMBERS));
    case 8:
      return insert(utf8(rng.pick(HOSTILE_TOKENS)));
    case 9:
      return v.subarray(0, at);
    case 10:
      return v.subarray(at);
    case 11:
      return utf8(swapCase(value));
    case 12:
      return Buffer.concat([v, v]);
    case 13:
      return rng.chance(0.5) ? bytes(' ', v) : bytes(v, rng.pick([' ', '\t', '  ']));
    case 14:
      return rng.bytes(rng.int(1, 24));
    default:
      return insert(utf8(rng.pick(['\r\n', '\r\r\n', '\n\n', '\r\n\r\n'])));
  }
}

/** The end of a command line: CRLF mostly; sometimes bare LF, bare CR, CR CR LF, or none (a truncated command). */
export function lineEnd(rng: Rng, p: number): string {
  if (!rng.chance(p)) return '\r\n';
  return rng.pick(['\n', '\r', '\r\r\n', '', '\n\r', '\r\n\r\n']);
}

/** A command line from a keyword and arguments, each maybe mutated. */
export function commandLine(rng: Rng, keyword: string, args: readonly string[], p: number, long?: readonly number[]): Buffer {
  const parts: Buffer[] = [rng.chance(p / 4) ? utf8(swapCase(keyword)) : mutateArg(rng, keyword, p / 6, long)];
  for (const arg of args) parts.push(utf8(rng.chance(p / 8) ? '  ' : ' '), mutateArg(rng, arg, p, long));
  return Buffer.concat([...parts, utf8(lineEnd(rng, p / 5))]);
}

/** Random bytes in one of a few shapes: uniform, printable, line-ish with CRLF, NULs and bare CR/LF. */
export function junk(rng: Rng, n: number): Buffer {
  switch (rng.int(0, 3)) {
    case 0:
      return rng.bytes(n);
    case 1:
      return Buffer.from(rng.text(n, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .:;"(){}[]<>*%\\/+-=@!?\r\n'), 'latin1');
    case 2:
      return Buffer.from(rng.text(n, '\r\n\0 .a'), 'latin1');
    default: {
      const lines: string[] = [];
      let size = 0;
      while (size < n) {
        const line = rng.text(rng.int(0, 40), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ');
        lines.push(line);
        size += line.length + 2;
      }
      return Buffer.from(lines.join('\r\n'), 'latin1');
    }
  }
}

/** Splits bytes into pieces, to be written one after another: framing must not depend on how data arrives. */
export function fragments(rng: Rng, data: Buffer): Buffer[] {
  if (data.length < 2 || rng.chance(0.6)) return [data];
  const pieces: Buffer[] = [];
  let start = 0;
  while (start < data.length) {
    const end = Math.min(data.length, start + rng.int(1, Math.max(1, Math.ceil(data.length / rng.int(2, 6)))));
    pieces.push(data.subarray(start, end));
    start = end;
  }
  return pieces;
}

export function swapCase(text: string): string {
  return [...text].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');
}
