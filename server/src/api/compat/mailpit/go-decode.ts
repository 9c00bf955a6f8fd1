/**
 * Request bodies read as Mailpit reads them, with Go's json.Decoder into a struct: the first
 * JSON value is decoded and anything after it is ignored; field names match case-insensitively
 * and unknown fields are skipped; `null` leaves a field as it was; and every failure is reported
 * in Go's words, since Mailpit answers 400 with the error text as its body.
 */

export type GoFieldKind = 'bool' | 'string' | '[]string';

export interface GoField {
  /** The Go field name, as Go's errors name it. */
  name: string;
  kind: GoFieldKind;
}

export type GoDecoded = { ok: true; fields: Record<string, boolean | string | string[]> } | { ok: false; error: string };

/** Go's encoding/json nesting limit. */
const MAX_DEPTH = 10_000;

/** Go's quoteChar: a byte in single quotes, escaped as strconv.Quote would. */
function quoteChar(byte: number): string {
  if (byte === 0x27) return `'\\''`;
  if (byte === 0x22) return `'"'`;
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 0x5c: '\\\\' };
  if (named[byte] !== undefined) return `'${named[byte]}'`;
  if (byte < 0x20 || byte === 0x7f) return `'\\x${byte.toString(16).padStart(2, '0')}'`;
  // Go turns the byte into the rune of the same number; U+0080–U+00A0 and U+00AD are not printable.
  if ((byte >= 0x80 && byte <= 0xa0) || byte === 0xad) return `'\\u00${byte.toString(16).padStart(2, '0')}'`;
  return `'${String.fromCharCode(byte)}'`;
}

class SyntaxError_ extends Error {}

const isSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
const isHex = (c: number | undefined): boolean => c !== undefined && (isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));

/** Go's scanner over the first JSON value: where it ends, or Go's error for it. */
class Scanner {
  private i = 0;

  constructor(private readonly b: Buffer) {}

  private fail(context: string): never {
    if (this.i >= this.b.length) throw new SyntaxError_('unexpected EOF');
    throw new SyntaxError_(`invalid character ${quoteChar(this.b[this.i]!)} ${context}`);
  }

  private skipSpace(): void {
    while (isSpace(this.b[this.i])) this.i += 1;
  }

  /** [start, end) of the first value; null when there is only white space (Go's io.EOF). */
  firstValue(): { start: number; end: number } | null {
    this.skipSpace();
    if (this.i >= this.b.length) return null;
    const start = this.i;
    const stack: ('object' | 'array')[] = [];
    let expectValue = true;
    for (;;) {
      if (expectValue) {
        this.skipSpace();
        const c = this.b[this.i];
        if (c === 0x7b || c === 0x5b) {
          if (stack.length >= MAX_DEPTH) throw new SyntaxError_('exceeded max depth');
          this.i += 1;
          this.skipSpace();
          if (c === 0x7b) {
            stack.push('object');
            if (this.b[this.i] === 0x7d) {
              this.i += 1;
              stack.pop();
              expectValue = false;
            } else {
              this.key();
            }
          } else {
            stack.push('array');
            if (this.b[this.i] === 0x5d) {
              this.i += 1;
              stack.pop();
              expectValue = false;
            }
          }
          continue;
        }
        this.scalar();
        expectValue = false;
      }
      const container = stack[stack.length - 1];
      if (container === undefined) return { start, end: this.i };
      this.skipSpace();
      const c = this.b[this.i];
      if (c === 0x2c) {
        this.i += 1;
        if (container === 'object') {
          this.skipSpace();
          this.key();
        }
        expectValue = true;
      } else if ((container === 'object' && c === 0x7d) || (container === 'array' && c === 0x5d)) {
        this.i += 1;
        stack.pop();
      } else {
        this.fail(container === 'object' ? 'after object key:value pair' : 'after array element');
      }
    }
  }

  /** An object key and its colon. */
  private key(): void {
    if (this.b[this.i] !== 0x22) this.fail('looking for beginning of object key string');
    this.string();
    this.skipSpace();
    if (this.b[this.i] !== 0x3a) this.fail('after object key');
    this.i += 1;
  }

  private scalar(): void {
    const c = this.b[this.i];
    if (c === 0x22) return this.string();
    if (c === 0x2d || isDigit(c)) return this.number();
    if (c === 0x74) return this.literal('true');
    if (c === 0x66) return this.literal('false');
    if (c === 0x6e) return this.literal('null');
    this.fail('looking for beginning of value');
  }

  private string(): void {
    this.i += 1;
    for (;;) {
      const c = this.b[this.i];
      if (c === undefined) this.fail('');
      if (c === 0x22) {
        this.i += 1;
        return;
      }
      if (c < 0x20) this.fail('in string literal');
      if (c === 0x5c) {
        this.i += 1;
        const e = this.b[this.i];
        if (e === 0x75) {
          for (let k = 0; k < 4; k++) {
            this.i += 1;
            if (!isHex(this.b[this.i])) this.fail('in \\u hexadecimal character escape');
          }
        } else if (e === undefined || !'"\\/bfnrt'.includes(String.fromCharCode(e))) {
          this.fail('in string escape code');
        }
      }
      this.i += 1;
    }
  }

  private number(): void {
    if (this.b[this.i] === 0x2d) {
      this.i += 1;
      if (!isDigit(this.b[this.i])) this.fail('in numeric literal');
    }
    if (this.b[this.i] === 0x30) this.i += 1;
    else while (isDigit(this.b[this.i])) this.i += 1;
    if (this.b[this.i] === 0x2e) {
      this.i += 1;
      if (!isDigit(this.b[this.i])) this.fail('after decimal point in numeric literal');
      while (isDigit(this.b[this.i])) this.i += 1;
    }
    if (this.b[this.i] === 0x65 || this.b[this.i] === 0x45) {
      this.i += 1;
      if (this.b[this.i] === 0x2b || this.b[this.i] === 0x2d) this.i += 1;
      if (!isDigit(this.b[this.i])) this.fail('in exponent of numeric literal');
      while (isDigit(this.b[this.i])) this.i += 1;
    }
  }

  private literal(word: 'true' | 'false' | 'null'): void {
    this.i += 1;
    for (let k = 1; k < word.length; k++) {
      if (this.b[this.i] !== word.charCodeAt(k)) this.fail(`in literal ${word} (expecting '${word[k]}')`);
      this.i += 1;
    }
  }
}

/** How Go's errors name a JSON value's kind. */
function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'boolean') return 'bool';
  return typeof value;
}

/**
 * Decodes a body into a struct of these fields, as json.NewDecoder(body).Decode(&v) does;
 * `typeName` is how Go prints the struct's type, for an error about the whole value.
 */
export function decodeGoStruct(body: Buffer, fields: readonly GoField[], typeName: string): GoDecoded {
  let span: { start: number; end: number } | null;
  try {
    span = new Scanner(body).firstValue();
  } catch (error) {
    if (error instanceof SyntaxError_) return { ok: false, error: error.message };
    throw error;
  }
  if (span === null) return { ok: false, error: 'EOF' };
  const value: unknown = JSON.parse(body.toString('utf8', span.start, span.end));
  const out: Record<string, boolean | string | string[]> = {};
  if (value === null) return { ok: true, fields: out };
  if (typeof value !== 'object' || Array.isArray(value)) return { ok: false, error: `json: cannot unmarshal ${kindOf(value)} into Go value of type ${typeName}` };
  let firstError: string | null = null;
  const mismatch = (field: GoField, got: unknown, type: string): void => {
    firstError ??= `json: cannot unmarshal ${kindOf(got)} into Go struct field .${field.name} of type ${type}`;
  };
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const field = fields.find((f) => f.name === key) ?? fields.find((f) => f.name.toLowerCase() === key.toLowerCase());
    if (field === undefined || item === null) continue;
    if (field.kind === 'bool') {
      if (typeof item === 'boolean') out[field.name] = item;
      else mismatch(field, item, 'bool');
    } else if (field.kind === 'string') {
      if (typeof item === 'string') out[field.name] = item;
      else mismatch(field, item, 'string');
    } else if (Array.isArray(item)) {
      out[field.name] = item.map((element: unknown) => {
        if (typeof element === 'string') return element;
        if (element !== null) mismatch(field, element, 'string');
        return '';
      });
    } else {
      mismatch(field, item, '[]string');
    }
  }
  return firstError === null ? { ok: true, fields: out } : { ok: false, error: firstError };
}
