/**
 * A forward-only reader of RFC 5322 lexical tokens (§3.2) over a byte string
 * (one char per byte), in the manner of Dovecot's rfc822 parser, which the
 * Date:, Message-ID and Content-* readers here follow.
 */

/** atext (RFC 5322 §3.2.3), with every 8-bit byte allowed. */
const ATEXT = new Uint8Array(256);
/** RFC 2045 token characters: no blanks, controls or tspecials. */
const TOKEN = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  ATEXT[c] = c >= 0x80 || /[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]/.test(ch) ? 1 : 0;
  TOKEN[c] = c > 0x20 && c !== 0x7f && !'()<>@,;:\\"/[]?='.includes(ch) ? 1 : 0;
}

export function isAtext(code: number): boolean {
  return ATEXT[code] === 1;
}

/** What skipping white space found: an unterminated comment, the end of the text, or more text. */
export const ERROR = -1;
const END = 0;
export const MORE = 1;

export class Rfc822Cursor {
  constructor(
    readonly text: string,
    public pos = 0,
  ) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): string {
    return this.text[this.pos] ?? '';
  }

  /** Skips blanks, line breaks and (nested) comments. */
  skipSpace(): number {
    const { text } = this;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) {
        this.pos++;
      } else if (c === 0x28) {
        let depth = 0;
        for (; this.pos < text.length; this.pos++) {
          const d = text.charCodeAt(this.pos);
          if (d === 0x5c) this.pos++;
          else if (d === 0x28) depth++;
          else if (d === 0x29 && --depth === 0) break;
        }
        if (this.pos >= text.length) return ERROR;
        this.pos++;
      } else {
        break;
      }
    }
    return this.pos < text.length ? MORE : END;
  }

  private run(table: Uint8Array): string {
    const start = this.pos;
    while (this.pos < this.text.length && table[this.text.charCodeAt(this.pos)] === 1) this.pos++;
    return this.text.slice(start, this.pos);
  }

  /** An atom and the white space after it; '' when none starts here, null in an unterminated comment after it. */
  atom(): string | null {
    const atom = this.run(ATEXT);
    if (atom === '') return '';
    return this.skipSpace() === ERROR ? null : atom;
  }

  /** An RFC 2045 token and the white space after it ('' when none starts here). */
  token(): string {
    const token = this.run(TOKEN);
    if (token !== '') this.skipSpace();
    return token;
  }

  /** A quoted string's content, escapes resolved and folding removed; null when unterminated. */
  quoted(): string | null {
    const { text } = this;
    let out = '';
    for (this.pos++; this.pos < text.length; this.pos++) {
      const c = text[this.pos];
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c === '\\' && this.pos + 1 < text.length) out += text[++this.pos];
      else if (c !== '\r' && c !== '\n') out += c;
    }
    return null;
  }

  /** `1*atext *("." 1*atext)`, white space allowed around the dots; '' when none starts here. */
  dotAtom(): string {
    let out = '';
    for (;;) {
      const part = this.run(ATEXT);
      if (part === '') return out;
      out += part;
      if (this.skipSpace() !== MORE || this.peek() !== '.') return out;
      this.pos++;
      out += '.';
      this.skipSpace();
    }
  }
}
