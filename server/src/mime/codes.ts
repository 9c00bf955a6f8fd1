import { createContext, Script } from 'node:vm';
import { partText } from './decode.js';
import { bodyParts, htmlText, textUrls } from './links.js';
import type { MimePart } from './part-index.js';

/** A pattern the caller must fix; the API answers it with 400. */
export class PatternError extends Error {}

export const MAX_PATTERN_LENGTH = 200;
/** Characters of body text searched for codes. */
export const CODE_SCAN_CHARS = 64 * 1024;
/** How long a caller's pattern may run on one message before it is given up. */
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
 * rules above. With one, every match of `new RegExp(pattern, 'g')`, or its
 * first capture group when it has one (matches where that group took no
 * part, and empty matches, are left out).
 */
export function findCodes(text: string, pattern?: string): string[] {
  if (pattern === undefined || pattern === '') return defaultCodes(text);
  if (pattern.length > MAX_PATTERN_LENGTH) throw new PatternError(`pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'g');
  } catch (error) {
    throw new PatternError(`pattern is not a valid JavaScript regular expression: ${(error as Error).message}`);
  }
  return runBounded(re, text);
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

/**
 * A caller's regular expression could backtrack for ever on a crafted
 * pattern. It runs inside a vm context with a timeout, which interrupts
 * V8's regex engine too, on at most CODE_SCAN_CHARS characters.
 */
const sandbox = createContext({});
const collect = new Script('Array.from(text.matchAll(re), (m) => (m.length > 1 ? m[1] : m[0]))');

function runBounded(re: RegExp, text: string): string[] {
  sandbox.re = re;
  sandbox.text = text;
  try {
    const found = collect.runInContext(sandbox, { timeout: PATTERN_TIMEOUT_MS }) as ArrayLike<string | undefined>;
    return Array.from(found).filter((code): code is string => typeof code === 'string' && code !== '');
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      throw new PatternError(`pattern ran longer than ${PATTERN_TIMEOUT_MS} ms on this message; make it simpler`);
    }
    throw error;
  } finally {
    sandbox.re = undefined;
    sandbox.text = undefined;
  }
}
