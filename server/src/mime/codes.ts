import { RE2JS, RE2JSException, RE2JSSyntaxException } from 're2js';
import { partText } from './decode.js';
import { bodyParts, htmlText, textUrls } from './links.js';
import type { MimePart } from './part-index.js';

/** A pattern the caller must fix; the API answers it with 400. */
export class PatternError extends Error {}

export const MAX_PATTERN_LENGTH = 200;
/** Characters of body text searched for codes. */
export const CODE_SCAN_CHARS = 64 * 1024;
/** How long a caller's pattern may run on one message before it is given up (see PatternRunner). */
export const PATTERN_TIMEOUT_MS = 250;
/** Encoded bytes read from each body part, so a huge part costs no more than its start. */
const PART_SCAN_BYTES = 256 * 1024;

/**
 * One-time codes as mail states them: 4 to 8 ASCII digits standing alone.
 * Not when the run touches a letter, digit, `_` or `@` (ids, hex, addresses),
 * follows `+` (phone numbers), has a currency sign next to it, a space allowed
 * between (amounts), or is joined to another digit by one `-` `.` `,` `:` `/`
 * or space (dates, times, phone numbers such as 555-123-4567, amounts, grouped
 * card numbers); not a year after `©`/`(c)`/`Copyright` or after a month name
 * (`Jan 5, 2024`, `5 January 2024`). URLs are blanked out first, so digits in
 * links never count.
 */
const DEFAULT_CODE = new RegExp(
  [
    '(?<!',
    '[\\p{L}\\p{N}_@+]',
    '|\\p{Sc}\\s?',
    '|\\p{N}[-.,:/ ]',
    '|(?:©|\\(c\\)|copyright)\\s{0,3}',
    '|\\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\\p{L}{0,6}\\.?,?\\s{1,3}(?:\\d{1,2}(?:st|nd|rd|th)?,?\\s{1,3})?',
    ')',
    '(\\d{4,8})',
    '(?![\\p{L}\\p{N}_@]|\\s?\\p{Sc}|[-.,:/ ]\\p{N})',
  ].join(''),
  'giu',
);

/**
 * The text codes are looked for in: the text/plain body parts, else the
 * visible text of the HTML ones, at most CODE_SCAN_CHARS characters.
 */
export function codeText(raw: Buffer, root: MimePart): string {
  const parts = bodyParts(root);
  const plain = parts.filter((p) => p.subtype === 'plain');
  const read = (part: MimePart): string => {
    // Base64 is cut on a 4-character boundary; a cut quoted-printable escape only loses its last character.
    const limit = part.encoding === 'base64' ? PART_SCAN_BYTES - (PART_SCAN_BYTES % 4) : PART_SCAN_BYTES;
    const text = partText(raw, { ...part, bodyEnd: Math.min(part.bodyEnd, part.bodyStart + limit) });
    return part.subtype === 'html' ? htmlText(text) : text;
  };
  return (plain.length > 0 ? plain : parts).map(read).join('\n\n').slice(0, CODE_SCAN_CHARS);
}

/**
 * Codes in `text`, in order, repeats kept. Without a pattern, the default
 * rules above. With one, every match of the pattern (see compilePattern), or
 * its first capture group when it has one (matches where that group took no
 * part, and empty matches, are left out).
 */
export function findCodes(text: string, pattern?: string): string[] {
  if (pattern === undefined || pattern === '') return defaultCodes(text);
  const re = compilePattern(pattern);
  // The DFA answers "no match" far faster than a search that tracks capture groups.
  if (!re.test(text)) return [];
  const codes: string[] = [];
  for (const match of re.matchAll(text)) {
    const code = match.length > 1 ? match[1] : match[0];
    if (typeof code === 'string' && code !== '') codes.push(code);
  }
  return codes;
}

/** JavaScript's `\s` (white space and line terminators), and its complement, as RE2 class contents. */
const JS_SPACE = '\\t\\n\\v\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}';
const JS_NON_SPACE =
  '\\x00-\\x08\\x0e-\\x1f\\x21-\\x{9f}\\x{a1}-\\x{167f}\\x{1681}-\\x{1fff}\\x{200b}-\\x{2027}\\x{202a}-\\x{202e}' +
  '\\x{2030}-\\x{205e}\\x{2060}-\\x{2fff}\\x{3001}-\\x{fefe}\\x{ff00}-\\x{10ffff}';
/** JavaScript's `.` stops at every line terminator, RE2's only at `\n`. */
const JS_DOT = '[^\\n\\r\\x{2028}\\x{2029}]';

const UNSUPPORTED = 'which is not supported: patterns run on RE2, in time linear in the text, without lookaround or backreferences';

function unsupported(what: string): PatternError {
  return new PatternError(`pattern uses ${what}, ${UNSUPPORTED}`);
}

/**
 * Rewrites what RE2 reads differently from a JavaScript pattern without flags (`.`, `\s`, `\S`)
 * and refuses what RE2 cannot run, naming it; re2js's translateRegExp does the rest.
 */
function re2Syntax(pattern: string): string {
  const namedGroups = /\(\?<[^=!]/.test(pattern);
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === '\\' && i + 1 < pattern.length) {
      const next = pattern[i + 1]!;
      i += 1;
      if (next === 's') out += inClass ? JS_SPACE : `[${JS_SPACE}]`;
      else if (next === 'S') out += inClass ? JS_NON_SPACE : `[${JS_NON_SPACE}]`;
      else if (!inClass && next >= '1' && next <= '9') throw unsupported(`a backreference (\\${next})`);
      else if (!inClass && next === 'k' && pattern[i + 1] === '<' && namedGroups) throw unsupported('a backreference (\\k<name>)');
      else out += char + next;
      continue;
    }
    if (inClass) {
      if (char === ']') inClass = false;
    } else if (char === '[') {
      // `[]` and `[^]` are whole classes in JavaScript; translateRegExp rewrites them.
      const empty = pattern.startsWith('[]', i) ? 2 : pattern.startsWith('[^]', i) ? 3 : 0;
      if (empty > 0) {
        out += pattern.slice(i, i + empty);
        i += empty - 1;
        continue;
      }
      inClass = true;
    } else if (char === '.') {
      out += JS_DOT;
      continue;
    } else if (char === '(' && pattern[i + 1] === '?') {
      const kind = pattern.slice(i + 2, i + 4);
      if (kind.startsWith('=') || kind.startsWith('!')) throw unsupported(`a lookahead (${pattern.slice(i, i + 3)})`);
      if (kind === '<=' || kind === '<!') throw unsupported(`a lookbehind (${pattern.slice(i, i + 4)})`);
    }
    out += char;
  }
  return out;
}

/**
 * A caller's pattern, written as a JavaScript regular expression without flags, compiled for
 * re2js, which never backtracks: one search takes time linear in the text. Collecting every
 * match can still take longer, which is why the API runs this on PatternRunner's thread.
 */
export function compilePattern(pattern: string): RE2JS {
  if (pattern.length > MAX_PATTERN_LENGTH) throw new PatternError(`pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
  const source = re2Syntax(pattern);
  try {
    return RE2JS.compile(RE2JS.translateRegExp(source));
  } catch (error) {
    if (error instanceof RE2JSSyntaxException) {
      const part = error.getPattern();
      // The part RE2 quotes may come from a rewrite above; quote it only when the caller wrote it.
      const where = part !== null && part !== '' && pattern.includes(part) ? `: \`${part}\`` : '';
      throw new PatternError(`pattern is not a valid regular expression: ${error.getDescription()}${where}`);
    }
    if (error instanceof RE2JSException) throw new PatternError(`pattern is not a valid regular expression: ${error.message}`);
    throw error;
  }
}

function defaultCodes(text: string): string[] {
  // Blank URLs rather than cut them, so neighbouring digits keep their neighbours.
  let blanked = text;
  const urls = textUrls(text);
  if (urls.length > 0) {
    const pieces: string[] = [];
    let pos = 0;
    for (const { start, end } of urls) {
      pieces.push(text.slice(pos, start), ' '.repeat(end - start));
      pos = end;
    }
    pieces.push(text.slice(pos));
    blanked = pieces.join('');
  }
  return Array.from(blanked.matchAll(DEFAULT_CODE), (m) => m[1]!);
}
