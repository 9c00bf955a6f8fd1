/**
 * Request bodies read as Go's json.Decoder reads them into structs of numbers, for Mailpit's chaos
 * triggers and MailHog's Jim: the first JSON value only, Go's error for a body that is no JSON, and
 * the value with every number's literal kept, since Go tells an int from a float by its literal and
 * quotes it in the error ("number 5.5"). go-decode.ts checks the syntax; this reads what it passed.
 */
import { decodeGoStruct } from './mailpit/go-decode.js';

export type GoValue =
  | { kind: 'object'; entries: [key: string, value: GoValue][] }
  | { kind: 'number'; literal: string }
  | { kind: 'string' | 'bool' | 'array' | 'null' };

const isSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isNumberByte = (c: number | undefined): boolean => c !== undefined && ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45);

/** Walks JSON already known to be well formed, keeping objects down to a depth and skipping the rest whole. */
class Reader {
  private i = 0;

  constructor(private readonly b: Buffer) {}

  value(depth: number): GoValue {
    this.space();
    const c = this.b[this.i];
    if (c === 0x7b && depth > 0) return this.object(depth);
    if (c === 0x7b || c === 0x5b) {
      this.skipContainer();
      return c === 0x7b ? { kind: 'object', entries: [] } : { kind: 'array' };
    }
    if (c === 0x22) {
      this.skipString();
      return { kind: 'string' };
    }
    if (c === 0x74 || c === 0x66) {
      this.i += c === 0x74 ? 4 : 5;
      return { kind: 'bool' };
    }
    if (c === 0x6e) {
      this.i += 4;
      return { kind: 'null' };
    }
    const start = this.i;
    while (isNumberByte(this.b[this.i])) this.i += 1;
    return { kind: 'number', literal: this.b.toString('latin1', start, this.i) };
  }

  private object(depth: number): GoValue {
    const entries: [string, GoValue][] = [];
    this.i += 1;
    this.space();
    if (this.b[this.i] === 0x7d) {
      this.i += 1;
      return { kind: 'object', entries };
    }
    for (;;) {
      this.space();
      const start = this.i;
      this.skipString();
      const key = JSON.parse(this.b.toString('utf8', start, this.i)) as string;
      this.space();
      this.i += 1; // the colon
      entries.push([key, this.value(depth - 1)]);
      this.space();
      const end = this.b[this.i] === 0x7d;
      this.i += 1; // a comma or the closing brace
      if (end) return { kind: 'object', entries };
    }
  }

  private space(): void {
    while (isSpace(this.b[this.i])) this.i += 1;
  }

  private skipString(): void {
    this.i += 1;
    while (this.b[this.i] !== 0x22) this.i += this.b[this.i] === 0x5c ? 2 : 1;
    this.i += 1;
  }

  /** An object or array with everything in it, without recursion, however deep it nests. */
  private skipContainer(): void {
    let open = 0;
    do {
      const c = this.b[this.i];
      if (c === 0x22) {
        this.skipString();
        continue;
      }
      if (c === 0x7b || c === 0x5b) open += 1;
      else if (c === 0x7d || c === 0x5d) open -= 1;
      this.i += 1;
    } while (open > 0);
  }
}

/**
 * The first JSON value of a body bound for a Go struct of type `typeName` (as Go prints it), its
 * objects read `depth` levels deep; or Go's error: `EOF` for an empty body, a syntax error, or a
 * value other than an object or null.
 */
export function readGoJson(body: Buffer, typeName: string, depth: number): { ok: true; value: GoValue } | { ok: false; error: string } {
  const checked = decodeGoStruct(body, [], typeName);
  if (!checked.ok) return checked;
  return { ok: true, value: new Reader(body).value(depth) };
}

/** The struct field a key sets: the field of that exact name, else one equal to it but for case, as Go matches. */
export function goField<Name extends string>(key: string, names: readonly Name[]): Name | undefined {
  return names.find((name) => name === key) ?? names.find((name) => name.toLowerCase() === key.toLowerCase());
}

/**
 * Go's UnmarshalTypeError text for a field, `path` the dotted fields from the struct `structName`
 * down: the value is named by its kind, a number that does not fit a number field by its literal.
 */
export function goTypeError(value: GoValue, structName: string, path: string, type: string, numberField: boolean): string {
  const what = value.kind === 'number' && numberField ? `number ${value.literal}` : value.kind;
  return `json: cannot unmarshal ${what} into Go struct field ${structName}.${path} of type ${type}`;
}

/**
 * A value into a Go int (64 bits), or null when it does not fit: not a number, or a literal with a
 * fraction or exponent, or past the range. Past 2^53 the value loses precision, which no caller's
 * range check lets through.
 */
export function goInt(value: GoValue): number | null {
  if (value.kind !== 'number' || !/^-?\d+$/.test(value.literal)) return null;
  const n = BigInt(value.literal);
  return n >= -(2n ** 63n) && n < 2n ** 63n ? Number(n) : null;
}

/** A value into a Go float64, or null when it does not fit: not a number, or past float64's range. */
export function goFloat64(value: GoValue): number | null {
  if (value.kind !== 'number') return null;
  const n = Number(value.literal);
  return Number.isFinite(n) ? n : null;
}

/** Go's strconv.FormatFloat as encoding/json writes a float64, which JavaScript matches but for -0. */
export function goFloatJson(n: number): string {
  return Object.is(n, -0) ? '-0' : JSON.stringify(n);
}
