import type { WireLimits } from './limits.js';
import type { ImapCommand, ImapList, ImapValue } from './types.js';

const SP = 0x20;
const CR = 0x0d;
const LF = 0x0a;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const LPAREN = 0x28;
const RPAREN = 0x29;
const LBRACE = 0x7b;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LT = 0x3c;

/** Fetch attributes that take a `[section]` (RFC 3501 §9 `fetch-att`, RFC 3516 §4.2). */
const SECTIONED = new Set(['BODY', 'BODY.PEEK', 'BINARY', 'BINARY.PEEK', 'BINARY.SIZE']);

/** RFC 3501 §9 `tag`: ASTRING-CHAR (printable but `(`, `)`, `{`, `%`, `*`, `"`, `\`) without `+`. */
const TAG = /^[!#$&',\-./0-9:;<=>?@A-Z[\]^_`a-z|}~]+$/;

export function isTag(word: string): boolean {
  return TAG.test(word);
}

export class ParseError extends Error {
  constructor(
    readonly tag: string | null,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Parses one whole command as the CommandReader framed it (lines with their
 * CRLF, literals in place) into tag, name and generic tokens (RFC 3501 §9).
 * Throws ParseError, with the tag when one was read, for anything malformed.
 * Nesting is bounded by `limits.depth`, so hostile input cannot exhaust the stack.
 */
export function parseCommand(bytes: Buffer, limits: WireLimits): ImapCommand {
  return new Parser(bytes, limits).command();
}

class Parser {
  private pos = 0;
  private tag: string | null = null;

  constructor(
    private readonly bytes: Buffer,
    private readonly limits: WireLimits,
  ) {}

  command(): ImapCommand {
    const tag = this.word();
    if (!isTag(tag)) throw new ParseError(null, 'Invalid tag');
    this.tag = tag;
    if (!this.take(SP)) throw this.error('Missing command');
    const name = this.word().toUpperCase();
    if (!/^[A-Z][A-Z0-9.-]*$/.test(name)) throw this.error('Invalid command name');
    const args: ImapValue[] = [];
    while (!this.atEnd()) {
      if (!this.take(SP)) throw this.error(`Unexpected character at ${this.pos}`);
      if (this.atEnd()) break; // A trailing space, as some clients send.
      args.push(this.value(0));
    }
    return { tag, name, args };
  }

  private error(text: string): ParseError {
    return new ParseError(this.tag, text);
  }

  private atEnd(): boolean {
    const c = this.bytes[this.pos];
    return c === undefined || c === CR || c === LF;
  }

  private take(byte: number): boolean {
    if (this.bytes[this.pos] !== byte) return false;
    this.pos += 1;
    return true;
  }

  /** Up to the next space or line end: tags and command names. */
  private word(): string {
    const start = this.pos;
    while (this.pos < this.bytes.length) {
      const c = this.bytes[this.pos]!;
      if (c === SP || c === CR || c === LF) break;
      this.pos += 1;
    }
    return this.bytes.toString('latin1', start, this.pos);
  }

  private value(depth: number): ImapValue {
    const c = this.bytes[this.pos];
    if (c === LPAREN) return this.list(depth + 1, RPAREN);
    if (c === DQUOTE) return this.quoted();
    if (c === LBRACE) return this.literal();
    return this.atom(depth, false);
  }

  private list(depth: number, close: number): ImapList {
    if (depth > this.limits.depth) throw this.error(`Lists nested deeper than ${this.limits.depth}`);
    this.pos += 1;
    const items: ImapValue[] = [];
    for (;;) {
      if (this.atEnd()) throw this.error('Unterminated list');
      if (this.take(close)) break;
      if (items.length > 0 && !this.take(SP)) throw this.error('Expected a space in the list');
      if (items.length > 0 && this.take(close)) break;
      items.push(close === RBRACKET ? this.sectionValue(depth) : this.value(depth));
    }
    return { type: 'list', items };
  }

  private sectionValue(depth: number): ImapValue {
    const c = this.bytes[this.pos];
    if (c === LPAREN) return this.list(depth + 1, RPAREN);
    if (c === DQUOTE) return this.quoted();
    if (c === LBRACE) return this.literal();
    return this.atom(depth, true);
  }

  private quoted(): ImapValue {
    this.pos += 1;
    const out: number[] = [];
    for (;;) {
      const c = this.bytes[this.pos];
      if (c === undefined || c === CR || c === LF) throw this.error('Unterminated quoted string');
      this.pos += 1;
      if (c === DQUOTE) break;
      if (c === BACKSLASH) {
        const next = this.bytes[this.pos];
        // RFC 3501 §9 quoted-specials: only `"` and `\` may be escaped.
        if (next !== DQUOTE && next !== BACKSLASH) throw this.error('Invalid escape in quoted string');
        out.push(next);
        this.pos += 1;
        continue;
      }
      out.push(c);
    }
    return { type: 'string', value: Buffer.from(out), literal: false };
  }

  private literal(): ImapValue {
    const close = this.bytes.indexOf(0x7d, this.pos);
    const spec = close < 0 ? '' : this.bytes.toString('latin1', this.pos + 1, close);
    const match = /^(\d{1,20})\+?$/.exec(spec);
    if (match === null) throw this.error('Invalid literal');
    let at = close + 1;
    if (this.bytes[at] === CR) at += 1;
    if (this.bytes[at] !== LF) throw this.error('A literal must end its line');
    at += 1;
    const size = Number(match[1]);
    if (at + size > this.bytes.length) throw this.error('Truncated literal');
    this.pos = at + size;
    return { type: 'string', value: this.bytes.subarray(at, at + size), literal: true };
  }

  /**
   * An atom, or a sequence set, flag or list-mailbox pattern, which share its
   * shape. `[` opens a section only after BODY/BINARY fetch attributes; in any
   * other atom brackets are plain characters (`[Gmail]/Sent`).
   */
  private atom(depth: number, inSection: boolean): ImapValue {
    const start = this.pos;
    while (this.pos < this.bytes.length) {
      const c = this.bytes[this.pos]!;
      if (c <= SP || c === 0x7f || c === LPAREN || c === RPAREN || c === LBRACE || c === DQUOTE) break;
      if (c === RBRACKET && inSection) break;
      if (c === LBRACKET && SECTIONED.has(this.bytes.toString('latin1', start, this.pos).toUpperCase())) {
        const value = this.bytes.toString('latin1', start, this.pos);
        const section = this.list(depth + 1, RBRACKET).items;
        return { type: 'atom', value, section, ...this.partial() };
      }
      this.pos += 1;
    }
    if (this.pos === start) throw this.error(`Unexpected character at ${this.pos}`);
    // RFC 3501 §9: ATOM-CHAR is 7-bit; 8-bit text goes in a quoted string or literal (Dovecot refuses it too).
    for (let i = start; i < this.pos; i++) if (this.bytes[i]! >= 0x80) throw this.error('8-bit data in atom');
    return { type: 'atom', value: this.bytes.toString('latin1', start, this.pos) };
  }

  /** `<start.length>` (RFC 3501 §6.4.5). */
  private partial(): { partial?: { start: number; length: number } } {
    if (this.bytes[this.pos] !== LT) return {};
    const close = this.bytes.indexOf(0x3e, this.pos);
    const match = close < 0 ? null : /^<(\d{1,10})\.(\d{1,10})>$/.exec(this.bytes.toString('latin1', this.pos, close + 1));
    if (match === null) throw this.error('Invalid partial range');
    const start = Number(match[1]);
    const length = Number(match[2]);
    // RFC 3501 §9 asks for a non-zero length; Dovecot takes <n.0> and answers an empty string, and so does Mailroom.
    if (start > 4_294_967_295 || length > 4_294_967_295) throw this.error('Invalid partial range');
    this.pos = close + 1;
    return { partial: { start, length } };
  }
}
