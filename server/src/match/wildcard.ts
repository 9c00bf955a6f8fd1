/**
 * Wildcard patterns matched without building a regular expression from them: IMAP LIST and LSUB
 * mailbox patterns and SMTP rule globs come from clients, and a backtracking engine takes
 * exponential time on patterns such as `*%*%*%…a`.
 *
 *   `*`  any run of characters, the hierarchy delimiter included (RFC 3501 §6.3.8)
 *   `%`  any run of characters without the hierarchy delimiter (RFC 3501 §6.3.8), when the
 *        options name one; otherwise a literal `%`
 *   `?`  exactly one character, when the options ask for it; otherwise a literal `?`
 *
 * Everything else is literal; characters are code points. A pattern is compiled once for many
 * names. Matching a name of length n against a pattern of length m takes one indexOf per literal
 * run when `*` is the only run wildcard (or `%` is, and the name holds no delimiter), and at most
 * n × m / 32 word operations otherwise, in a bit-parallel NFA that stops once no state is alive.
 */

const LITERAL = 0;
const ANY = 1;
const STAR = 2;
const PERCENT = 3;

export interface WildcardOptions {
  /** Turns `%` into a wildcard that stops at this character (one code point). */
  readonly delimiter?: string;
  /** Turns `?` into a wildcard for exactly one character. */
  readonly question?: boolean;
  /** Compares literals by simple case folding, as a RegExp with flags `iu` does. */
  readonly ignoreCase?: boolean;
}

export interface WildcardMatcher {
  /** Whether the whole of `text` matches the pattern. */
  matches(text: string): boolean;
  /**
   * The offsets, in UTF-16 code units and ascending, of every occurrence of `end` (one code point)
   * in `text` such that the text before it matches the pattern: one pass however many there are.
   */
  matchingPrefixes(text: string, end: string): number[];
  /** The fewest characters a matching text has: one per literal and `?`. */
  readonly minLength: number;
  /** The same pattern compared case-insensitively, without parsing it again. */
  ignoringCase(): WildcardMatcher;
}

function singleCodePoint(text: string): number {
  const cp = text.codePointAt(0);
  return cp !== undefined && text.length === (cp > 0xffff ? 2 : 1) ? cp : -1;
}

/**
 * Simple case folding of one code point, from String's case mappings: code points that fold to
 * the same value are equal under RegExp's `iu` flags. Dotless ı is the exception those mappings
 * get wrong (its upper case is I, but only Turkic folding joins them).
 */
export function foldCase(cp: number): number {
  if (cp < 0x80) return cp >= 0x41 && cp <= 0x5a ? cp + 0x20 : cp;
  if (cp === 0x131) return cp;
  const char = String.fromCodePoint(cp);
  const upper = singleCodePoint(char.toUpperCase());
  if (upper >= 0) {
    const folded = singleCodePoint(String.fromCodePoint(upper).toLowerCase());
    if (folded >= 0) return folded;
  }
  const lower = singleCodePoint(char.toLowerCase());
  return lower >= 0 ? lower : cp;
}

function foldString(text: string): string {
  let ascii = true;
  for (let i = 0; i < text.length && ascii; i++) ascii = text.charCodeAt(i) < 0x80;
  if (ascii) return text.toLowerCase();
  let folded = '';
  for (const char of text) folded += String.fromCodePoint(foldCase(char.codePointAt(0)!));
  return folded;
}

function delimiterCodePoint(delimiter: string, what: string): number {
  const cp = singleCodePoint(delimiter);
  if (cp < 0) throw new TypeError(`${what} must be one character, got ${JSON.stringify(delimiter)}`);
  return cp;
}

/** Pattern positions holding one literal code point; dense when it is frequent enough to pay for a full mask. */
interface LiteralClass {
  /** The `?` mask with this literal's positions added, or null to use `positions` with the `?` mask. */
  dense: Int32Array | null;
  positions: Int32Array;
}

/**
 * Shift-And simulation of the pattern's NFA: state i means "tokens 0..i-1 matched", one bit per
 * state. A literal or `?` advances its state, `*` loops on any character, `%` on any but the
 * delimiter; both wildcards may also match nothing, which is one extra shift because normalize()
 * never leaves two of them side by side.
 */
class BitNfa {
  private readonly words: number;
  private readonly wild: Int32Array;
  private readonly star: Int32Array;
  private readonly any: Int32Array;
  private readonly ascii: (LiteralClass | undefined)[] = new Array<LiteralClass | undefined>(0x80);
  private readonly others = new Map<number, LiteralClass>();
  private readonly targets: Int32Array;

  constructor(
    kinds: Uint8Array,
    values: Int32Array,
    /** For each state, how many characters the rest of the pattern needs at least. */
    private readonly need: Int32Array,
    private readonly delimiter: number,
    private readonly ignoreCase: boolean,
  ) {
    const states = kinds.length + 1;
    this.words = (states + 31) >>> 5;
    this.wild = new Int32Array(this.words);
    this.star = new Int32Array(this.words);
    this.any = new Int32Array(this.words);
    const positions = new Map<number, number[]>();
    for (let i = 0; i < kinds.length; i++) {
      const bit = 1 << (i & 31);
      const kind = kinds[i]!;
      if (kind === STAR || kind === PERCENT) this.wild[i >>> 5]! |= bit;
      if (kind === STAR) this.star[i >>> 5]! |= bit;
      if (kind === ANY) this.any[i >>> 5]! |= bit;
      if (kind === LITERAL) {
        const list = positions.get(values[i]!);
        if (list === undefined) positions.set(values[i]!, [i]);
        else list.push(i);
      }
    }
    // A mask of every word for every distinct literal would take m²/32 words; rare literals keep a position list instead.
    let sparseMax = 0;
    for (const [cp, list] of positions) {
      let dense: Int32Array | null = null;
      if (list.length * 4 >= this.words) {
        dense = this.any.slice();
        for (const i of list) dense[i >>> 5]! |= 1 << (i & 31);
      } else {
        sparseMax = Math.max(sparseMax, list.length);
      }
      const literal: LiteralClass = { dense, positions: Int32Array.from(list) };
      if (cp < 0x80) this.ascii[cp] = literal;
      else this.others.set(cp, literal);
    }
    this.targets = new Int32Array(sparseMax);
  }

  /**
   * Runs over text[0, end). With `prefixes`, records each offset where `stop` is next and the
   * text before matches; without, returns whether text[0, end) matches.
   */
  run(text: string, end: number, prefixes: number[] | null, stop: number): boolean {
    const { words, wild, star, any, need, delimiter, ignoreCase, targets } = this;
    const last = need.length - 1;
    const lastWord = last >>> 5;
    const lastBit = 1 << (last & 31);
    let current = new Int32Array(words);
    let next = new Int32Array(words);
    current[0] = 1 | ((wild[0]! & 1) << 1);
    let lo = 0;
    let hi = 0;
    let floor = 0;
    let i = 0;
    while (i < end) {
      let cp = text.charCodeAt(i);
      let width = 1;
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < end) {
        const low = text.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          cp = ((cp - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
          width = 2;
        }
      }
      if (prefixes !== null && cp === stop && (current[lastWord]! & lastBit) !== 0) prefixes.push(i);
      const key = ignoreCase ? foldCase(cp) : cp;
      const literal = key < 0x80 ? this.ascii[key] : this.others.get(key);
      const advance = literal?.dense ?? any;
      const loop = cp === delimiter ? star : wild;

      let sparse = 0;
      if (literal !== undefined && literal.dense === null) {
        for (const p of literal.positions) {
          const word = p >>> 5;
          if (word > hi) break;
          if (word >= lo && (current[word]! & (1 << (p & 31))) !== 0) targets[sparse++] = p + 1;
        }
      }

      const top = hi + 1 < words ? hi + 1 : words - 1;
      let carry = 0;
      let epsilonCarry = 0;
      for (let w = lo; w <= top; w++) {
        const state = current[w]!;
        current[w] = 0;
        const moved = state & advance[w]!;
        let bits = (state & loop[w]!) | (moved << 1) | carry;
        carry = moved >>> 31;
        const empty = bits & wild[w]!;
        bits |= (empty << 1) | epsilonCarry;
        epsilonCarry = empty >>> 31;
        next[w] = bits;
      }
      for (let t = 0; t < sparse; t++) {
        const target = targets[t]!;
        next[target >>> 5]! |= 1 << (target & 31);
        if ((wild[target >>> 5]! & (1 << (target & 31))) !== 0) next[(target + 1) >>> 5]! |= 1 << ((target + 1) & 31);
      }

      i += width;
      // A state whose remaining literals outnumber the remaining characters can never finish.
      while (need[floor]! > end - i) floor++;
      const floorWord = floor >>> 5;
      for (let w = lo; w < floorWord && w <= top; w++) next[w] = 0;
      if (floorWord <= top) next[floorWord]! &= -1 << (floor & 31);
      lo = Math.max(lo, floorWord);
      hi = top;
      while (lo <= hi && next[lo] === 0) lo++;
      while (hi >= lo && next[hi] === 0) hi--;
      if (lo > hi) return false;
      const swap = current;
      current = next;
      next = swap;
    }
    const accepted = (current[lastWord]! & lastBit) !== 0;
    if (prefixes !== null && accepted) prefixes.push(end);
    return accepted;
  }
}

interface Tokens {
  kinds: Uint8Array;
  /** Literals' code points (folded when ignoring case); `?` for ANY. */
  values: Int32Array;
}

const QUESTION = 0x3f;

/**
 * A run of wildcards holding a `*` matches exactly the texts at least as long as its `?` count,
 * so it becomes that many `?` and one `*`; `%%` matches what `%` does. Afterwards no two `*`/`%`
 * are adjacent, which BitNfa relies on.
 */
function normalize({ kinds, values }: Tokens): Tokens {
  const outKinds = new Uint8Array(kinds.length);
  const outValues = new Int32Array(kinds.length);
  let n = 0;
  for (let i = 0; i < kinds.length; ) {
    if (kinds[i] === LITERAL) {
      outKinds[n] = LITERAL;
      outValues[n++] = values[i++]!;
      continue;
    }
    let end = i;
    let anys = 0;
    let star = false;
    for (; end < kinds.length && kinds[end] !== LITERAL; end++) {
      if (kinds[end] === ANY) anys++;
      else if (kinds[end] === STAR) star = true;
    }
    if (star) {
      for (let k = 0; k < anys; k++) {
        outKinds[n] = ANY;
        outValues[n++] = QUESTION;
      }
      outKinds[n++] = STAR;
    } else {
      for (let j = i; j < end; j++) {
        if (kinds[j] === PERCENT && n > 0 && outKinds[n - 1] === PERCENT) continue;
        outKinds[n] = kinds[j]!;
        outValues[n++] = values[j]!;
      }
    }
    i = end;
  }
  return { kinds: outKinds.slice(0, n), values: outValues.slice(0, n) };
}

function codePointString(values: Int32Array, from: number, to: number): string {
  let text = '';
  if (to - from <= 64) {
    for (let i = from; i < to; i++) text += String.fromCodePoint(values[i]!);
    return text;
  }
  for (let i = from; i < to; i += 4096) text += String.fromCodePoint(...values.subarray(i, Math.min(to, i + 4096)));
  return text;
}

/** Literals and `?` between two stars; `?` stands as one code unit, so a plan is used only on text without surrogates. */
interface Segment {
  text: string;
  /** 1 where `text` holds a `?`; null when there is none. */
  any: Uint8Array | null;
}

/**
 * A pattern with `*` as its only run-wildcard, ready for leftmost placement: the segment before
 * the first star, the literal runs between stars (each followed by `extra` `?`), and the segment
 * after the last star (null when there is no star at all).
 */
interface Plan {
  first: Segment;
  middles: { literal: string; extra: number }[];
  last: Segment | null;
  units: number;
  hasAny: boolean;
}

function segmentOf({ kinds, values }: Tokens, from: number, to: number): Segment {
  const text = codePointString(values, from, to);
  let any: Uint8Array | null = null;
  for (let i = from, unit = 0; i < to; unit += values[i]! > 0xffff ? 2 : 1, i++) {
    if (kinds[i] !== ANY) continue;
    any ??= new Uint8Array(text.length);
    any[unit] = 1;
  }
  return { text, any };
}

function planOf(tokens: Tokens): Plan | null {
  const { kinds, values } = tokens;
  const bounds: number[] = [-1];
  let hasAny = false;
  for (let i = 0; i < kinds.length; i++) {
    const kind = kinds[i]!;
    if (kind === PERCENT) return null;
    if (kind === STAR) bounds.push(i);
    if (kind === ANY) hasAny = true;
    // A lone surrogate in the pattern could match half of a pair in the text by code units.
    if (kind === LITERAL && values[i]! >= 0xd800 && values[i]! <= 0xdfff) return null;
  }
  bounds.push(kinds.length);
  const first = segmentOf(tokens, 0, bounds[1]!);
  const last = bounds.length > 2 ? segmentOf(tokens, bounds[bounds.length - 2]! + 1, kinds.length) : null;
  let units = first.text.length + (last?.text.length ?? 0);
  const middles: Plan['middles'] = [];
  for (let b = 1; b < bounds.length - 2; b++) {
    const from = bounds[b]! + 1;
    const to = bounds[b + 1]!;
    let literals = from;
    while (literals < to && kinds[literals] === LITERAL) literals++;
    // Only trailing `?` keep indexOf exact; a `?` between literals is left to BitNfa.
    for (let i = literals; i < to; i++) if (kinds[i] !== ANY) return null;
    const literal = codePointString(values, from, literals);
    middles.push({ literal, extra: to - literals });
    units += literal.length + to - literals;
  }
  return { first, middles, last, units, hasAny };
}

function segmentAt(text: string, pos: number, segment: Segment): boolean {
  const { any } = segment;
  if (any === null) return text.startsWith(segment.text, pos);
  for (let u = 0; u < any.length; u++) {
    if (any[u] === 0 && text.charCodeAt(pos + u) !== segment.text.charCodeAt(u)) return false;
  }
  return true;
}

function hasSurrogate(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdfff) return true;
  }
  return false;
}

/**
 * Leftmost placement of each literal run between stars: its earliest occurrence leaves the most
 * text for the runs after it, so no other placement needs trying. Null when the plan cannot
 * decide (a `?` and a surrogate pair).
 */
function matchPlan(text: string, plan: Plan): boolean | null {
  if (plan.hasAny && hasSurrogate(text)) return null;
  const { first, last } = plan;
  if (last === null) return text.length === first.text.length && segmentAt(text, 0, first);
  if (text.length < plan.units) return false;
  const limit = text.length - last.text.length;
  if (!segmentAt(text, limit, last) || !segmentAt(text, 0, first)) return false;
  let pos = first.text.length;
  for (const { literal, extra } of plan.middles) {
    const at = text.indexOf(literal, pos);
    if (at < 0) return false;
    pos = at + literal.length + extra;
    if (pos > limit) return false;
  }
  return true;
}

/** The pattern as tokens, `*`/`%` runs collapsed on the way so that normalize() sees few of them. */
function parse(pattern: string, delimiter: number, question: boolean, ignoreCase: boolean): Tokens {
  const kinds = new Uint8Array(pattern.length);
  const values = new Int32Array(pattern.length);
  let count = 0;
  for (let i = 0; i < pattern.length; i++) {
    let cp = pattern.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < pattern.length) {
      const low = pattern.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = ((cp - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
        i++;
      }
    }
    let kind = LITERAL;
    if (cp === 0x2a) kind = STAR;
    else if (cp === 0x25 && delimiter >= 0) kind = PERCENT;
    else if (cp === QUESTION && question) kind = ANY;
    const previous = count > 0 ? kinds[count - 1] : LITERAL;
    if ((kind === STAR || kind === PERCENT) && (previous === STAR || previous === PERCENT)) {
      if (kind === STAR) kinds[count - 1] = STAR;
      continue;
    }
    kinds[count] = kind;
    values[count++] = kind === LITERAL && ignoreCase ? foldCase(cp) : cp;
  }
  return normalize({ kinds: kinds.subarray(0, count), values: values.subarray(0, count) });
}

class CompiledWildcard implements WildcardMatcher {
  readonly minLength: number;
  private readonly kinds: Uint8Array;
  private readonly values: Int32Array;
  private readonly need: Int32Array;
  /** For patterns without `%`. */
  private readonly plan: Plan | null;
  /** For text without the delimiter, where `%` is the same as `*`; made when first needed. */
  private loosePlan: Plan | null | undefined;
  private nfa: BitNfa | null = null;
  private readonly delimiterCp: number;

  constructor(
    tokens: Tokens,
    private readonly delimiter: string | undefined,
    private readonly ignoreCase: boolean,
  ) {
    this.delimiterCp = delimiter === undefined ? -1 : delimiterCodePoint(delimiter, 'The delimiter');
    this.kinds = tokens.kinds;
    this.values = tokens.values;
    this.need = new Int32Array(tokens.kinds.length + 1);
    for (let i = tokens.kinds.length - 1; i >= 0; i--) {
      this.need[i] = this.need[i + 1]! + (tokens.kinds[i] === LITERAL || tokens.kinds[i] === ANY ? 1 : 0);
    }
    this.minLength = this.need[0]!;
    this.plan = planOf(tokens);
  }

  ignoringCase(): WildcardMatcher {
    if (this.ignoreCase) return this;
    const values = this.values.map((value, i) => (this.kinds[i] === LITERAL ? foldCase(value) : value));
    return new CompiledWildcard({ kinds: this.kinds, values }, this.delimiter, true);
  }

  matches(text: string): boolean {
    // Every literal and `?` takes at least one code unit.
    if (this.need[0]! > text.length) return false;
    const plan = this.plan ?? (this.delimiter !== undefined && !text.includes(this.delimiter) ? this.planWithoutDelimiter() : null);
    if (plan !== null) {
      const matched = matchPlan(this.ignoreCase ? foldString(text) : text, plan);
      if (matched !== null) return matched;
    }
    if (!this.fixedEnds(text)) return false;
    return this.automaton().run(text, text.length, null, -1);
  }

  matchingPrefixes(text: string, end: string): number[] {
    const stop = delimiterCodePoint(end, 'The prefix end');
    const prefixes: number[] = [];
    const lastStop = text.lastIndexOf(end);
    if (lastStop < 0 || this.need[0]! > lastStop) return prefixes;
    this.automaton().run(text, lastStop, prefixes, stop);
    return prefixes;
  }

  /** Whether the literals before the first wildcard start the text and those after the last end it. */
  private fixedEnds(text: string): boolean {
    const { kinds, values, ignoreCase } = this;
    let pos = 0;
    for (let t = 0; t < kinds.length && kinds[t] === LITERAL; t++) {
      if (pos >= text.length) return false;
      const cp = text.codePointAt(pos)!;
      if ((ignoreCase ? foldCase(cp) : cp) !== values[t]) return false;
      pos += cp > 0xffff ? 2 : 1;
    }
    pos = text.length;
    for (let t = kinds.length - 1; t >= 0 && kinds[t] === LITERAL; t--) {
      if (pos <= 0) return false;
      let cp = text.charCodeAt(pos - 1);
      const high = pos >= 2 ? text.charCodeAt(pos - 2) : 0;
      if (cp >= 0xdc00 && cp <= 0xdfff && high >= 0xd800 && high <= 0xdbff) {
        cp = ((high - 0xd800) << 10) + (cp - 0xdc00) + 0x10000;
        pos -= 2;
      } else {
        pos -= 1;
      }
      if ((ignoreCase ? foldCase(cp) : cp) !== values[t]) return false;
    }
    return true;
  }

  private planWithoutDelimiter(): Plan | null {
    if (this.loosePlan === undefined) {
      this.loosePlan = planOf(normalize({ kinds: this.kinds.map((kind) => (kind === PERCENT ? STAR : kind)), values: this.values }));
    }
    return this.loosePlan;
  }

  private automaton(): BitNfa {
    this.nfa ??= new BitNfa(this.kinds, this.values, this.need, this.delimiterCp, this.ignoreCase);
    return this.nfa;
  }
}

/** Compiles a wildcard pattern; see the top of this file for its syntax. */
export function compileWildcard(pattern: string, options: WildcardOptions = {}): WildcardMatcher {
  const delimiter = options.delimiter === undefined ? -1 : delimiterCodePoint(options.delimiter, 'The delimiter');
  const ignoreCase = options.ignoreCase === true;
  return new CompiledWildcard(parse(pattern, delimiter, options.question === true, ignoreCase), options.delimiter, ignoreCase);
}

/**
 * An SQL LIKE pattern as SQLite reads one without ESCAPE: `%` any run, `_` exactly one
 * character, everything else literal, compared exactly (SQLite folds ASCII case only, so callers
 * lower ASCII letters on both sides). Mailpit's search is LIKE over its columns, so `_` and `%`
 * typed into it are wildcards there, and a compatible search must treat them the same way.
 */
export function compileLike(pattern: string): WildcardMatcher {
  const kinds: number[] = [];
  const values: number[] = [];
  for (const char of pattern) {
    const cp = char.codePointAt(0)!;
    const kind = cp === 0x25 ? STAR : cp === 0x5f ? ANY : LITERAL;
    if (kind === STAR && kinds[kinds.length - 1] === STAR) continue;
    kinds.push(kind);
    values.push(kind === ANY ? QUESTION : cp);
  }
  return new CompiledWildcard(normalize({ kinds: Uint8Array.from(kinds), values: Int32Array.from(values) }), undefined, false);
}
