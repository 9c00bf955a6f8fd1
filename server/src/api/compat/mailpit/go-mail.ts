import { isIP, isIPv4 } from 'node:net';
import { trimChars } from '../../../match/trim-chars.js';
import { byteString } from '../go-values.js';

/**
 * What Mailpit's release reads with Go's net/mail (Go 1.25): the header as mail.ReadMessage
 * reads it, and addresses as ParseAddress and ParseAddressList take them, with Go's error
 * texts, since Mailpit answers 400 with them.
 *
 * Go strings are bytes. Here they are "byte strings": JavaScript strings holding one byte per
 * character (latin1), so that UTF-8 is decoded, and refused when invalid, where Go does it.
 */

export type GoHeader = ReadonlyMap<string, readonly string[]>;

export type GoResult<T> = { ok: true; value: T } | { ok: false; error: string };

const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });

/** RFC 7230 tchar, the bytes textproto canonicalises a field name over. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** textproto.CanonicalMIMEHeaderKey: `message-id` → `Message-Id`; a name with other bytes is kept as written. */
function canonicalKey(name: string): string {
  if (!TOKEN.test(name)) return name;
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

/** Header.Get: the first value of a field, '' when there is none. */
export const headerGet = (header: GoHeader, name: string): string => header.get(canonicalKey(name))?.[0] ?? '';

/**
 * mail.ReadMessage's header (readHeader, net/mail's lenient copy of textproto's): lines unfolded
 * with one space, each field split at its first colon, its value's leading blanks dropped, a
 * line without a colon an error. A header that runs to the end of the message is taken.
 */
export function readHeader(raw: Buffer): GoResult<GoHeader> {
  const header = new Map<string, string[]>();
  let pos = 0;
  /** The next line without its LF or CRLF, or null at the end. */
  const line = (): string | null => {
    if (pos >= raw.length) return null;
    const lf = raw.indexOf(0x0a, pos);
    const end = lf < 0 ? raw.length : lf;
    const text = raw.toString('latin1', pos, lf > pos && raw[lf - 1] === 0x0d ? lf - 1 : end);
    pos = lf < 0 ? raw.length : lf + 1;
    return text;
  };
  const blank = (c: number | undefined): boolean => c === 0x20 || c === 0x09;
  if (blank(raw[0])) return fail(`malformed initial line: ${line()}`);
  for (;;) {
    const first = line();
    // The end of the message before any field is Go's io.EOF; after one, the header simply ends.
    if (first === null) return header.size === 0 ? fail('EOF') : { ok: true, value: header };
    if (first === '') return { ok: true, value: header };
    let field = trimChars(first, ' \t');
    while (blank(raw[pos])) {
      while (blank(raw[pos])) pos += 1;
      field += ' ';
      const next = line();
      if (next === null) break;
      field += trimChars(next, ' \t');
    }
    const colon = field.indexOf(':');
    if (colon < 0) return fail(`malformed header line: ${field}`);
    const key = canonicalKey(field.slice(0, colon));
    if (key === '') continue;
    const value = field.slice(colon + 1).replace(/^[ \t]+/, '');
    const values = header.get(key);
    if (values) values.push(value);
    else header.set(key, [value]);
  }
}

const RUNE_ERROR = 0xfffd;

/** utf8.DecodeRuneInString at byte i: the rune and its size; an invalid byte is RuneError of size 1, the end size 0. */
function decodeRune(s: string, i: number): { r: number; size: number } {
  if (i >= s.length) return { r: RUNE_ERROR, size: 0 };
  const b0 = s.charCodeAt(i);
  if (b0 < 0x80) return { r: b0, size: 1 };
  const cont = (k: number): number => {
    const b = s.charCodeAt(i + k);
    return i + k < s.length && (b & 0xc0) === 0x80 ? b & 0x3f : -1;
  };
  const invalid = { r: RUNE_ERROR, size: 1 };
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    const c1 = cont(1);
    return c1 < 0 ? invalid : { r: ((b0 & 0x1f) << 6) | c1, size: 2 };
  }
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const c1 = cont(1);
    const c2 = cont(2);
    if (c1 < 0 || c2 < 0) return invalid;
    const r = ((b0 & 0x0f) << 12) | (c1 << 6) | c2;
    return r < 0x800 || (r >= 0xd800 && r <= 0xdfff) ? invalid : { r, size: 3 };
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const c1 = cont(1);
    const c2 = cont(2);
    const c3 = cont(3);
    if (c1 < 0 || c2 < 0 || c3 < 0) return invalid;
    const r = ((b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3;
    return r < 0x10000 || r > 0x10ffff ? invalid : { r, size: 4 };
  }
  return invalid;
}

const isWsp = (r: number): boolean => r === 0x20 || r === 0x09;
/** RFC 5322 VCHAR, with every multi-byte rune (RFC 6532). */
const isVchar = (r: number): boolean => (r >= 0x21 && r <= 0x7e) || r >= 0x80;
const SPECIALS = new Set([...'()<>[]:;@\\,"'].map((c) => c.charCodeAt(0)));
const isAtext = (r: number, dot: boolean): boolean => (r === 0x2e ? dot : !SPECIALS.has(r) && isVchar(r));
const isQtext = (r: number): boolean => r !== 0x5c && r !== 0x22 && isVchar(r);
const isDtext = (r: number): boolean => r !== 0x5b && r !== 0x5d && r !== 0x5c && isVchar(r);

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const NAMED_ESCAPES: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 0x5c: '\\\\' };

function quoteRuneBody(r: number, quote: number): string {
  if (r === quote) return `\\${String.fromCharCode(quote)}`;
  if (NAMED_ESCAPES[r] !== undefined) return NAMED_ESCAPES[r];
  const char = String.fromCodePoint(r);
  if (PRINTABLE.test(char)) return byteString(char);
  if (r < 0x80) return `\\x${r.toString(16).padStart(2, '0')}`;
  return r < 0x10000 ? `\\u${r.toString(16).padStart(4, '0')}` : `\\U${r.toString(16).padStart(8, '0')}`;
}

/** Go's %q of a byte string (strconv.Quote), itself a byte string: invalid bytes as \x, printable runes as they are. */
function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; ) {
    const { r, size } = decodeRune(s, i);
    out += r === RUNE_ERROR && size === 1 ? `\\x${s.charCodeAt(i).toString(16).padStart(2, '0')}` : quoteRuneBody(r, 0x22);
    i += size;
  }
  return `${out}"`;
}

/** Go's %q of a rune (strconv.QuoteRune). */
const quoteRune = (r: number): string => `'${quoteRuneBody(r, 0x27)}'`;

/** Thrown inside the parser; every public function turns it into a result. */
class MailError extends Error {}

/** mime.WordDecoder's check of an encoded word's text: Q or B, as Go decodes it. */
function decodesAs(encoding: string, text: string): boolean {
  if (encoding === 'B' || encoding === 'b') return text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text);
  if (encoding !== 'Q' && encoding !== 'q') return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3d) {
      if (i + 2 >= text.length || !/^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) return false;
      i += 2;
    } else if (!((c >= 0x20 && c <= 0x7e) || c === 0x0a || c === 0x0d || c === 0x09)) {
      return false;
    }
  }
  return true;
}

/** The charsets Go's WordDecoder converts without a CharsetReader; net/mail's reader refuses the rest. */
const NATIVE_CHARSETS = new Set(['utf-8', 'iso-8859-1', 'us-ascii']);

/**
 * decodeRFC2047Word: whether a word is an encoded word, and the error for one in a charset Go
 * cannot convert. A malformed encoded word is plain text, as in Go.
 */
function encodedWord(word: string): { encoded: boolean; error: string | null } {
  const plain = { encoded: false, error: null };
  if (word.length < 8 || !word.startsWith('=?') || !word.endsWith('?=') || word.split('?').length !== 5) return plain;
  const [charset, encoding, text] = word.slice(2, -2).split('?') as [string, string, string];
  if (charset === '' || encoding.length !== 1 || !decodesAs(encoding, text)) return plain;
  if (NATIVE_CHARSETS.has(charset.toLowerCase())) return { encoded: true, error: null };
  return { encoded: true, error: `charset not supported: ${quote(charset.toLowerCase())}` };
}

/** Go's addrParser over a byte string; only what Mailpit's release needs of an address is kept. */
class AddressParser {
  constructor(private s: string) {}

  private empty(): boolean {
    return this.s.length === 0;
  }

  private peek(): number {
    return this.s.charCodeAt(0);
  }

  private consume(c: string): boolean {
    if (this.empty() || this.s[0] !== c) return false;
    this.s = this.s.slice(1);
    return true;
  }

  private skipSpace(): void {
    this.s = this.s.replace(/^[ \t]+/, '');
  }

  /** Skips white space and comments; false for a comment left open. */
  private skipCfws(): boolean {
    this.skipSpace();
    while (this.consume('(')) {
      if (!this.consumeComment().closed) return false;
      this.skipSpace();
    }
    return true;
  }

  private consumeComment(): { text: string; closed: boolean } {
    let depth = 1;
    let text = '';
    while (!this.empty() && depth > 0) {
      if (this.s[0] === '\\' && this.s.length > 1) this.s = this.s.slice(1);
      else if (this.s[0] === '(') depth += 1;
      else if (this.s[0] === ')') depth -= 1;
      if (depth > 0) text += this.s[0];
      this.s = this.s.slice(1);
    }
    return { text, closed: depth === 0 };
  }

  parseList(): string[] {
    const list: string[] = [];
    for (;;) {
      this.skipSpace();
      // obs-addr-list: empty entries are skipped.
      if (this.consume(',')) continue;
      list.push(...this.parseAddress(true));
      if (!this.skipCfws()) throw new MailError('mail: misformatted parenthetical comment');
      if (this.empty()) break;
      if (this.s[0] !== ',') throw new MailError('mail: expected comma');
      while (this.consume(',')) this.skipSpace();
      if (this.empty()) break;
    }
    return list;
  }

  parseSingle(): string {
    const addresses = this.parseAddress(true);
    if (!this.skipCfws()) throw new MailError('mail: misformatted parenthetical comment');
    if (!this.empty()) throw new MailError(`mail: expected single address, got ${quote(this.s)}`);
    if (addresses.length === 0) throw new MailError('mail: empty group');
    if (addresses.length > 1) throw new MailError('mail: group with multiple addresses');
    return addresses[0]!;
  }

  private parseAddress(handleGroup: boolean): string[] {
    this.skipSpace();
    if (this.empty()) throw new MailError('mail: no address');
    const spec = this.tryAddrSpec();
    if (spec !== null) {
      this.skipSpace();
      if (!this.empty() && this.peek() === 0x28) this.consumeDisplayNameComment();
      return [spec];
    }
    let displayName = '';
    if (this.peek() !== 0x3c) displayName = this.consumePhrase();
    this.skipSpace();
    if (handleGroup && this.consume(':')) return this.consumeGroupList();
    if (!this.consume('<')) {
      let atext = true;
      for (let i = 0; i < displayName.length; ) {
        const { r, size } = decodeRune(displayName, i);
        if (!isAtext(r, true)) atext = false;
        i += size;
      }
      throw new MailError(atext ? "mail: missing '@' or angle-addr" : 'mail: no angle-addr');
    }
    const inner = this.consumeAddrSpec();
    if (!this.consume('>')) throw new MailError('mail: unclosed angle-addr');
    return [inner];
  }

  private consumeGroupList(): string[] {
    const group: string[] = [];
    this.skipSpace();
    if (this.consume(';')) {
      if (!this.skipCfws()) throw new MailError('mail: misformatted parenthetical comment');
      return group;
    }
    for (;;) {
      this.skipSpace();
      group.push(...this.parseAddress(false));
      if (!this.skipCfws()) throw new MailError('mail: misformatted parenthetical comment');
      if (this.consume(';')) {
        if (!this.skipCfws()) throw new MailError('mail: misformatted parenthetical comment');
        return group;
      }
      if (!this.consume(',')) throw new MailError('mail: expected comma');
    }
  }

  /** consumeAddrSpec where Go tries it first and falls back to name-addr: null, with nothing consumed, when it fails. */
  private tryAddrSpec(): string | null {
    try {
      return this.consumeAddrSpec();
    } catch (error) {
      if (!(error instanceof MailError)) throw error;
      return null;
    }
  }

  private consumeAddrSpec(): string {
    const saved = this.s;
    try {
      this.skipSpace();
      if (this.empty()) throw new MailError('mail: no addr-spec');
      let local: string;
      if (this.peek() === 0x22) {
        // Go checks the result whatever the error, so a bad quoted string is reported as an empty one.
        try {
          local = this.consumeQuotedString();
        } catch (error) {
          if (!(error instanceof MailError)) throw error;
          local = '';
        }
        if (local === '') throw new MailError('mail: empty quoted string in addr-spec');
      } else {
        local = this.consumeAtom(true, false);
      }
      if (!this.consume('@')) throw new MailError('mail: missing @ in addr-spec');
      this.skipSpace();
      if (this.empty()) throw new MailError('mail: no domain in addr-spec');
      const domain = this.peek() === 0x5b ? this.consumeDomainLiteral() : this.consumeAtom(true, false);
      return `${local}@${domain}`;
    } catch (error) {
      this.s = saved;
      throw error;
    }
  }

  private consumePhrase(): string {
    const words: string[] = [];
    let previousEncoded = false;
    let error: string | null = null;
    for (;;) {
      // obs-phrase allows CFWS after one word.
      if (words.length > 0 && !this.skipCfws()) throw new MailError('mail: misformatted parenthetical comment');
      this.skipSpace();
      if (this.empty()) break;
      let word: string;
      let encoded = false;
      try {
        if (this.peek() === 0x22) {
          word = this.consumeQuotedString();
        } else {
          word = this.consumeAtom(true, true);
          const decoded = encodedWord(word);
          encoded = decoded.encoded;
          if (decoded.error !== null) throw new MailError(decoded.error);
        }
      } catch (caught) {
        if (!(caught instanceof MailError)) throw caught;
        error = caught.message;
        break;
      }
      if (previousEncoded && encoded) words[words.length - 1] += word;
      else words.push(word);
      previousEncoded = encoded;
    }
    if (error !== null && words.length === 0) throw new MailError(`mail: missing word in phrase: ${error}`);
    return words.join(' ');
  }

  private consumeQuotedString(): string {
    let i = 1;
    let text = '';
    let escaped = false;
    for (;;) {
      const { r, size } = decodeRune(this.s, i);
      if (size === 0) throw new MailError('mail: unclosed quoted-string');
      if (size === 1 && r === RUNE_ERROR) throw new MailError(`mail: invalid utf-8 in quoted-string: ${quote(this.s)}`);
      if (escaped) {
        if (!isVchar(r) && !isWsp(r)) throw new MailError(`mail: bad character in quoted-string: ${quoteRune(r)}`);
        text += this.s.slice(i, i + size);
        escaped = false;
      } else if (isQtext(r) || isWsp(r)) {
        text += this.s.slice(i, i + size);
      } else if (r === 0x22) {
        break;
      } else if (r === 0x5c) {
        escaped = true;
      } else {
        throw new MailError(`mail: bad character in quoted-string: ${quoteRune(r)}`);
      }
      i += size;
    }
    this.s = this.s.slice(i + 1);
    return text;
  }

  private consumeAtom(dot: boolean, permissive: boolean): string {
    let i = 0;
    for (;;) {
      const { r, size } = decodeRune(this.s, i);
      if (size === 1 && r === RUNE_ERROR) throw new MailError(`mail: invalid utf-8 in address: ${quote(this.s)}`);
      if (size === 0 || !isAtext(r, dot)) break;
      i += size;
    }
    if (i === 0) throw new MailError('mail: invalid string');
    const atom = this.s.slice(0, i);
    this.s = this.s.slice(i);
    if (!permissive) {
      if (atom.startsWith('.')) throw new MailError('mail: leading dot in atom');
      if (atom.includes('..')) throw new MailError('mail: double dot in atom');
      if (atom.endsWith('.')) throw new MailError('mail: trailing dot in atom');
    }
    return atom;
  }

  private consumeDomainLiteral(): string {
    this.consume('[');
    let dtext = '';
    for (;;) {
      if (this.empty()) throw new MailError('mail: unclosed domain-literal');
      if (this.s[0] === ']') break;
      const { r, size } = decodeRune(this.s, 0);
      if (size === 1 && r === RUNE_ERROR) throw new MailError(`mail: invalid utf-8 in domain-literal: ${quote(this.s)}`);
      if (!isDtext(r)) throw new MailError(`mail: bad character in domain-literal: ${quoteRune(r)}`);
      dtext += this.s.slice(0, size);
      this.s = this.s.slice(size);
    }
    this.consume(']');
    if (dtext.startsWith('IPv6:')) {
      // net.ParseIP gives 16 bytes for IPv4 too; a zone is not an address to it.
      const ip = dtext.slice(5);
      if (isIP(ip) === 0 || ip.includes('%')) throw new MailError(`mail: invalid IPv6 address in domain-literal: ${quote(dtext)}`);
    } else if (!isIPv4(dtext)) {
      throw new MailError(`mail: invalid IP address in domain-literal: ${quote(dtext)}`);
    }
    return `[${dtext}]`;
  }

  private consumeDisplayNameComment(): void {
    this.consume('(');
    const comment = this.consumeComment();
    if (!comment.closed) throw new MailError('mail: misformatted parenthetical comment');
    for (const word of comment.text.split(/[ \t]+/)) {
      const decoded = encodedWord(word);
      if (decoded.error !== null) throw new MailError(decoded.error);
    }
  }
}

function run<T>(parse: () => T): GoResult<T> {
  try {
    return { ok: true, value: parse() };
  } catch (error) {
    if (error instanceof MailError) return fail(error.message);
    throw error;
  }
}

/** mail.ParseAddress: the addr-spec of one address (a byte string), or Go's error. */
export const parseAddress = (text: string): GoResult<string> => run(() => new AddressParser(text).parseSingle());

/** mail.ParseAddressList: the addr-specs of a list, groups flattened (a group may be empty), or Go's error. */
export const parseAddressList = (text: string): GoResult<string[]> => run(() => new AddressParser(text).parseList());
