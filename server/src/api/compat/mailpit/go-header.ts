import { goJson } from '../go-json.js';

/**
 * A message's header as Mailpit's /headers reads it, with Go's net/mail.ReadMessage
 * (textproto.ReadMIMEHeader, Go 1.25): names canonicalised (`Message-Id`, `Mime-Version`),
 * continuation lines trimmed and joined with one space, encoded words left alone, repeated fields
 * in order, and Go's error for a header it refuses, which Mailpit answers with 400.
 */

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;

/** RFC 7230 tchar, the bytes Go accepts in a field name. */
function isTokenByte(c: number): boolean {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return true;
  return c < 0x80 && "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c));
}

/** Go's validHeaderValueByte: no control characters but tab. */
const isValueByte = (c: number): boolean => c >= 0x80 || c === TAB || (c >= SP && c !== 0x7f);

/** Go's canonicalMIMEHeaderKey: null for a name Go refuses; a name with a space is kept as written. */
function canonicalKey(name: Buffer): string | null {
  if (name.length === 0) return null;
  let hasSpace = false;
  for (const c of name) {
    if (isTokenByte(c)) continue;
    if (c !== SP) return null;
    hasSpace = true;
  }
  if (hasSpace) return name.toString('latin1');
  let upper = true;
  let out = '';
  for (const c of name) {
    let char = String.fromCharCode(c);
    if (upper && c >= 0x61 && c <= 0x7a) char = char.toUpperCase();
    else if (!upper && c >= 0x41 && c <= 0x5a) char = char.toLowerCase();
    out += char;
    upper = c === 0x2d;
  }
  return out;
}

/** Go's %q of a byte string, for the missing-colon error. */
function goQuote(bytes: Buffer): string {
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 0x22: '\\"', 0x5c: '\\\\' };
  let out = '"';
  for (const char of bytes.toString('utf8')) {
    const cp = char.codePointAt(0)!;
    if (named[cp] !== undefined) out += named[cp];
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

/** Go's textproto trim: spaces, tabs, CR and LF off both ends. */
function trim(line: Buffer): Buffer {
  let start = 0;
  let end = line.length;
  const space = (c: number): boolean => c === SP || c === TAB || c === CR || c === LF;
  while (start < end && space(line[start]!)) start += 1;
  while (end > start && space(line[end - 1]!)) end -= 1;
  return line.subarray(start, end);
}

class LineReader {
  private pos = 0;

  constructor(private readonly raw: Buffer) {}

  get atEnd(): boolean {
    return this.pos >= this.raw.length;
  }

  peek(): number | undefined {
    return this.raw[this.pos];
  }

  /** The next line without its CRLF or LF. */
  line(): Buffer {
    const lf = this.raw.indexOf(LF, this.pos);
    const end = lf < 0 ? this.raw.length : lf;
    const line = this.raw.subarray(this.pos, end > this.pos && this.raw[end - 1] === CR && lf >= 0 ? end - 1 : end);
    this.pos = lf < 0 ? this.raw.length : lf + 1;
    return line;
  }

  skipSpace(): number {
    let skipped = 0;
    while (this.raw[this.pos] === SP || this.raw[this.pos] === TAB) {
      this.pos += 1;
      skipped += 1;
    }
    return skipped;
  }
}

/** Go's JSON of the header (map keys sorted, as Go encodes maps), or the error text Mailpit answers with. */
export function goHeaderJson(raw: Buffer): { ok: true; json: string } | { ok: false; error: string } {
  const reader = new LineReader(raw);
  const fields = new Map<string, string[]>();
  if (reader.peek() === SP || reader.peek() === TAB) {
    // Go quotes at most 80 bytes of the line, and refuses a longer one outright.
    const line = reader.line();
    return { ok: false, error: line.length > 80 ? 'message too large' : `malformed MIME header initial line: ${line.toString('utf8')}` };
  }
  let ended = false;
  while (!reader.atEnd) {
    const first = reader.line();
    if (first.length === 0) {
      ended = true;
      break;
    }
    if (first.indexOf(0x3a) < 0) return { ok: false, error: `malformed MIME header: missing colon: ${goQuote(first)}` };
    const pieces = [trim(first)];
    while (reader.skipSpace() > 0) pieces.push(Buffer.from(' '), trim(reader.line()));
    const field = Buffer.concat(pieces);
    const colon = field.indexOf(0x3a);
    const key = canonicalKey(field.subarray(0, colon));
    const value = field.subarray(colon + 1);
    if (key === null || !value.every(isValueByte)) return { ok: false, error: `malformed MIME header line: ${field.toString('utf8')}` };
    let start = 0;
    while (value[start] === SP || value[start] === TAB) start += 1;
    const text = value.toString('utf8', start);
    const list = fields.get(key);
    if (list) list.push(text);
    else fields.set(key, [text]);
  }
  // net/mail takes a header that runs to the end of the message, but not an empty message.
  if (fields.size === 0 && !ended) return { ok: false, error: 'EOF' };
  const keys = [...fields.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const members = keys.map((key) => `${goJson(key, { newline: false })}:${goJson(fields.get(key), { newline: false })}`);
  return { ok: true, json: `{${members.join(',')}}\n` };
}
