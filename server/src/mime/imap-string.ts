/**
 * IMAP string output (RFC 3501 §4.3 and the `string` / `nstring` rules of
 * §9), choosing between quoted and literal exactly as Dovecot 2.3 does so
 * that our responses match its responses byte for byte.
 *
 * All strings here are byte strings: one JS char per byte (latin1), so a
 * literal's `{n}` is the string's length and the result goes to the socket
 * with `Buffer.from(s, 'latin1')`. Inputs must not hold NUL bytes (Dovecot
 * works on C strings and has replaced or cut them before this point).
 */

/**
 * A quoted string spends one backslash per `"` or `\`, a literal spends
 * `{n}\r\n`. Dovecot keeps quoting until the fifth such character, and only
 * then switches to a literal; we follow it so the output matches.
 */
const MAX_QUOTED_ESCAPES = 4;

const CR = 13;
const LF = 10;
const SP = 32;
const TAB = 9;
const DQUOTE = 34;
const BACKSLASH = 92;

/** `{n}\r\n` followed by the bytes (RFC 3501 §4.3 literal). */
function literal(bytes: string): string {
  return `{${bytes.length}}\r\n${bytes}`;
}

/**
 * `nstring`: NIL for null, else a quoted string, or a literal when the bytes
 * cannot be quoted (CR, LF or 8-bit: RFC 3501 §9 QUOTED-CHAR excludes them)
 * or when more than four characters would need a backslash.
 */
export function imapNString(bytes: string | null): string {
  if (bytes === null) return 'NIL';
  let escapes = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes.charCodeAt(i);
    if (c === DQUOTE || c === BACKSLASH) {
      if (++escapes > MAX_QUOTED_ESCAPES) return literal(bytes);
    } else if (c === CR || c === LF || c >= 0x80) {
      return literal(bytes);
    }
  }
  if (escapes === 0) return `"${bytes}"`;
  let out = '"';
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes.charCodeAt(i);
    if (c === DQUOTE || c === BACKSLASH) {
      out += `${bytes.slice(start, i)}\\`;
      start = i;
    }
  }
  return `${out}${bytes.slice(start)}"`;
}

/**
 * `nstring` for header-derived values that may still hold folding line breaks
 * (ENVELOPE date, in-reply-to and message-id; BODYSTRUCTURE id, description
 * and location). Each CR or LF is dropped; where the next line does not start
 * with whitespace a space stands in for it, so words never run together. The
 * result is then written as imapNString() would.
 */
export function imapNStringNoLf(bytes: string | null): string {
  if (bytes === null) return 'NIL';
  let first = -1;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes.charCodeAt(i);
    if (c === CR || c === LF) {
      first = i;
      break;
    }
  }
  if (first < 0) return imapNString(bytes);
  let out = bytes.slice(0, first);
  let start = first;
  for (let i = first; i < bytes.length; i++) {
    const c = bytes.charCodeAt(i);
    if (c !== CR && c !== LF) continue;
    out += bytes.slice(start, i);
    start = i + 1;
    const next = i + 1 < bytes.length ? bytes.charCodeAt(i + 1) : -1;
    if (next !== -1 && next !== SP && next !== TAB && next !== CR && next !== LF) out += ' ';
  }
  return imapNString(out + bytes.slice(start));
}
