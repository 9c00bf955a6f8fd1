/**
 * The i;unicode-casemap comparator (RFC 5051) as Dovecot 2.3 applies it to
 * search keys, searched text and sort keys: every character is mapped to its
 * titlecase, then decomposed (compatibility decompositions included, so `é`
 * becomes `E` + U+0301 and `ﬁ` becomes `fi`). Substring and order
 * comparisons then happen on the results, which makes SEARCH
 * case-insensitive (RFC 3501 §6.4.4) and SORT case-insensitive (RFC 5256 §2.2).
 *
 * JavaScript has no simple-titlecase table, so a character takes its
 * uppercase when that is a single character, with the few exceptions where
 * Unicode's titlecase differs (the DŽ/LJ/NJ/DZ digraphs and Georgian letters);
 * characters whose only uppercase is several characters (`ß`, `ŉ`) stay as
 * they are, as Dovecot's simple mapping leaves them.
 */

/** Titlecase differs from uppercase for these digraphs (UnicodeData field 14). */
const TITLECASE: ReadonlyMap<number, number> = new Map([
  [0x1c4, 0x1c5],
  [0x1c5, 0x1c5],
  [0x1c6, 0x1c5],
  [0x1c7, 0x1c8],
  [0x1c8, 0x1c8],
  [0x1c9, 0x1c8],
  [0x1ca, 0x1cb],
  [0x1cb, 0x1cb],
  [0x1cc, 0x1cb],
  [0x1f1, 0x1f2],
  [0x1f2, 0x1f2],
  [0x1f3, 0x1f2],
]);

/** Georgian Mkhedruli letters have uppercase (Mtavruli) forms but are their own titlecase. */
function isGeorgianLower(cp: number): boolean {
  return (cp >= 0x10d0 && cp <= 0x10fa) || (cp >= 0x10fd && cp <= 0x10ff);
}

const ASCII = /^[\x00-\x7f]*$/;
const REPLACEMENTS = /\ufffd{2,}/g;

/** Mappings of the non-ASCII characters seen so far; bounded, since hostile text can hold many distinct ones. */
const mapped = new Map<number, string>();
const MAX_MAPPED = 65_536;

function mapChar(char: string, cp: number): string {
  const known = mapped.get(cp);
  if (known !== undefined) return known;
  let title = char;
  const digraph = TITLECASE.get(cp);
  if (digraph !== undefined) title = String.fromCodePoint(digraph);
  else if (!isGeorgianLower(cp)) {
    const upper = char.toUpperCase();
    // A single character only: "SS" for "ß" is a full mapping, not the simple one.
    if (String.fromCodePoint(upper.codePointAt(0)!) === upper) title = upper;
  }
  const result = title.normalize('NFKD');
  if (mapped.size < MAX_MAPPED) mapped.set(cp, result);
  return result;
}

/**
 * Text in its casemapped form. Runs of U+FFFD collapse to one, as Dovecot
 * writes one replacement character for a run of undecodable bytes.
 */
export function casemap(text: string): string {
  if (ASCII.test(text)) return text.toUpperCase();
  const out: string[] = [];
  let run = 0;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    if (cp < 0x80) {
      run++;
      i++;
      continue;
    }
    if (run > 0) out.push(text.slice(i - run, i).toUpperCase());
    run = 0;
    const width = cp > 0xffff ? 2 : 1;
    out.push(mapChar(text.slice(i, i + width), cp));
    i += width;
  }
  if (run > 0) out.push(text.slice(text.length - run).toUpperCase());
  const joined = out.join('');
  return joined.includes('\ufffd') ? joined.replace(REPLACEMENTS, '\ufffd') : joined;
}

/**
 * Dovecot compares sort keys with strcmp() on UTF-8, i.e. by code point.
 * JavaScript's `<` compares UTF-16 units, which puts U+E000..U+FFFF after
 * astral characters; this does not.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    if (xSurrogate !== ySurrogate) return xSurrogate ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}
