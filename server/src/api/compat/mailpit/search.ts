import { compileLike } from '../../../match/wildcard.js';
import type { MessageFilter } from '../../../store/store.js';
import { hasAnyTag, hasTag } from '../../../store/tags.js';
import { SEEN, type StoredMessage } from '../../../store/types.js';
import { cleanString, goTrimSpace } from './clean.js';
import { parseSearchDate } from './dates.js';
import { asciiLower } from '../../../match/ascii-lower.js';
import type { MessageFacts } from './facts.js';

/**
 * Mailpit's search syntax (internal/storage/search.go, v1.30.5), compiled into a filter over
 * Mailroom's messages instead of SQL over Mailpit's tables.
 *
 * Mailpit splits the query on spaces (a `"` toggles a phrase and is then dropped), and ANDs one
 * condition per word. A leading `-` or `!` negates it. Prefixes: `to:` `from:` `cc:` `bcc:`
 * `reply-to:` `addressed:` `subject:` `message-id:` `tag:` `is:read` `is:unread` `is:tagged`
 * `has:attachment(s)` `has:inline(s)` `after:` `before:` `larger:` `smaller:`; any other word is
 * searched in the message's search text. Every text comparison is SQL LIKE `%value%`: a
 * substring, ASCII case-insensitive, where `%` and `_` typed by the user stay wildcards; here
 * that is compileLike, never a RegExp built from the query.
 *
 * Where this differs from Mailpit: body text is read as Mailroom reads it for its own search (see
 * MailpitFacts.searchText); dates take the layouts in dates.ts, not all of dateparse's; and a
 * query longer than MAX_SEARCH_LENGTH or with more than MAX_SEARCH_TERMS words is refused rather
 * than run, where Mailpit would run it.
 */

/** Mailroom's own limit on what it will run; the API answers it with 400. */
export class SearchError extends Error {}

export const MAX_SEARCH_LENGTH = 1024;
export const MAX_SEARCH_TERMS = 64;

export interface SearchSource {
  facts(message: StoredMessage): MessageFacts;
  /** Mailpit's SearchText for the message, cleaned. */
  text(message: StoredMessage): string;
}

/**
 * One condition. `facts` looks the message's facts up on its first call: most conditions read
 * the message alone, and a search over thousands of messages need not look up facts for them.
 */
type Test = (message: StoredMessage, facts: () => MessageFacts) => boolean;

/** Mailpit's ArgsParser: words split on spaces only, `"` toggling a phrase, every `"` then removed. */
export function splitArgs(query: string): string[] {
  const args: string[] = [];
  let current = '';
  let quoted = false;
  const flush = (): void => {
    const word = goTrimSpace(current.replaceAll('"', ''));
    if (word !== '') args.push(word);
    current = '';
  };
  for (const char of query) {
    if (char === '"') {
      quoted = !quoted;
      current += char;
    } else if (char === ' ' && !quoted) {
      flush();
    } else {
      current += char;
    }
  }
  if (current !== '') flush();
  return args;
}

/**
 * Mailpit's sizeToBytes: `\d+(\.\d+)?`, an optional space and `k`/`kb` or `m`/`mb` (any case);
 * 0 for anything else, which turns the term into a text search.
 */
export function sizeToBytes(value: string): number {
  const match = /^(\d+)(\.\d+)?[\t\n\f\r ]?([a-z]{1,2})?$/.exec(value.toLowerCase());
  if (!match) return 0;
  const number = Number(`${match[1]}${match[2] ?? ''}`);
  const unit = match[3];
  if (unit === undefined) return Math.trunc(number);
  if (unit === 'k' || unit === 'kb') return Math.trunc(number * 1024);
  if (unit === 'm' || unit === 'mb') return Math.trunc(number * 1024 * 1024);
  return 0;
}

/** What compileLike would make of `%value%` no differently from a substring: no wildcard, no surrogate. */
const PLAIN_SUBSTRING = /^[^%_\ud800-\udfff]*$/;

/** `%value%` as SQLite's LIKE reads it, over an ASCII-lower-cased text. */
function contains(value: string): (text: string) => boolean {
  const lower = asciiLower(value);
  if (PLAIN_SUBSTRING.test(lower)) return (text) => text.includes(lower);
  const pattern = compileLike(`%${lower}%`);
  return (text) => pattern.matches(text);
}

/** A needle both lower-casings agree on wherever it is found: ASCII, and no wildcard to count characters. */
const PLAIN_ASCII = /^[^%_\x80-\uffff]*$/;

/**
 * `%value%` over a text not yet lower-cased, as over asciiLower(text). For a plain ASCII needle
 * the text's toLowerCase, several times faster, is searched first: every ASCII character lowers
 * alike in both and they stay side by side, so it holds each match asciiLower's would, and only
 * a hit (a few messages in a search) needs asciiLower's own answer.
 */
function containsLowering(value: string): (text: string) => boolean {
  const has = contains(value);
  if (!PLAIN_ASCII.test(asciiLower(value))) return (text) => has(asciiLower(text));
  return (text) => has(text.toLowerCase()) && has(asciiLower(text));
}

type Column = keyof MessageFacts['columns'];
const ADDRESS_COLUMNS = [
  ['to:', 'to'],
  ['from:', 'from'],
  ['cc:', 'cc'],
  ['bcc:', 'bcc'],
  ['reply-to:', 'replyTo'],
] as const satisfies readonly (readonly [string, Column])[];

function columnTest(column: Column, value: string, exclude: boolean): Test | null {
  if (value === '') return null;
  const has = contains(value);
  return exclude ? (_m, f) => !has(f().columns[column]) : (_m, f) => has(f().columns[column]);
}

/** The subject column is the subject ASCII-lower-cased: searched here as such rather than looked up with the facts. */
function subjectTest(value: string, exclude: boolean): Test | null {
  if (value === '') return null;
  const has = containsLowering(value);
  return exclude ? (m) => !has(m.digest.subject) : (m) => has(m.digest.subject);
}

function dateTest(value: string, zone: string | null, exclude: boolean, before: boolean): Test | null {
  const upper = cleanString(value).toUpperCase();
  if (upper === '') return null;
  const time = parseSearchDate(upper, zone);
  // Mailpit ignores a date it cannot parse; it does not search for the word instead.
  if (time === null) return null;
  // Both bounds are inclusive, and so are their negations.
  const atMost = before !== exclude;
  return atMost ? (m) => m.receivedAt <= time : (m) => m.receivedAt >= time;
}

function sizeTest(bytes: number, exclude: boolean, larger: boolean): Test {
  return larger !== exclude ? (m) => m.raw.length > bytes : (m) => m.raw.length < bytes;
}

const flagTest = (wanted: boolean): Test => (m) => m.flags.has(SEEN) === wanted;

/** One word of the query, its `-`/`!` already taken off: its test, or null when it adds no condition. */
function termTest(word: string, lower: string, exclude: boolean, source: SearchSource, zone: string | null): Test | null {
  for (const [prefix, column] of ADDRESS_COLUMNS) {
    if (lower.startsWith(prefix)) return columnTest(column, cleanString(word.slice(prefix.length)), exclude);
  }
  if (lower.startsWith('addressed:')) {
    const value = cleanString(word.slice(10));
    if (value === '') return null;
    const has = contains(value);
    const any: Test = (_m, f) => {
      const { columns } = f();
      return has(columns.to) || has(columns.from) || has(columns.cc) || has(columns.bcc) || has(columns.replyTo);
    };
    return exclude ? (m, f) => !any(m, f) : any;
  }
  // The only value Mailpit does not clean: spaces, commas and case are searched as typed.
  if (lower.startsWith('subject:')) return subjectTest(word.slice(8), exclude);
  if (lower.startsWith('message-id:')) return columnTest('messageId', cleanString(word.slice(11)), exclude);
  if (lower.startsWith('tag:')) {
    // Mailpit compares tag names with SQLite's NOCASE: the whole name, ignoring case.
    const tag = cleanString(word.slice(4));
    if (tag === '') return null;
    return exclude ? (m) => !hasTag(m, tag) : (m) => hasTag(m, tag);
  }
  switch (lower) {
    case 'is:read':
      return flagTest(!exclude);
    case 'is:unread':
      return flagTest(exclude);
    case 'is:tagged':
      return exclude ? (m) => !hasAnyTag(m) : hasAnyTag;
    case 'has:inline':
    case 'has:inlines':
      return exclude ? (_m, f) => f().inlines === 0 : (_m, f) => f().inlines > 0;
    case 'has:attachment':
    case 'has:attachments':
      return exclude ? (_m, f) => f().attachments === 0 : (_m, f) => f().attachments > 0;
  }
  if (lower.startsWith('after:')) return dateTest(word.slice(6), zone, exclude, false);
  if (lower.startsWith('before:')) return dateTest(word.slice(7), zone, exclude, true);
  if (lower.startsWith('larger:') || lower.startsWith('smaller:')) {
    const larger = lower.startsWith('larger:');
    const bytes = sizeToBytes(cleanString(word.slice(larger ? 7 : 8)));
    if (bytes > 0) return sizeTest(bytes, exclude, larger);
  }
  const has = contains(cleanString(word));
  return exclude ? (m) => !has(source.text(m)) : (m) => has(source.text(m));
}

/**
 * The filter for a Mailpit search, in the IANA zone `zone` for dates without one (null: the
 * server's local zone); null when no word adds a condition, which matches every message.
 */
export function compileSearch(query: string, source: SearchSource, zone: string | null): MessageFilter | null {
  if (query.length > MAX_SEARCH_LENGTH) throw new SearchError(`search query is longer than ${MAX_SEARCH_LENGTH} characters`);
  const words = splitArgs(query);
  if (words.length > MAX_SEARCH_TERMS) throw new SearchError(`search query has more than ${MAX_SEARCH_TERMS} terms`);
  const tests: Test[] = [];
  for (const arg of words) {
    if (cleanString(arg) === '') continue;
    // Go's len() counts bytes: a lone `-` or `!` is a word of its own, not a negation.
    const exclude = Buffer.byteLength(arg) > 1 && (arg[0] === '-' || arg[0] === '!');
    const word = exclude ? arg.slice(1) : arg;
    const test = termTest(word, word.toLowerCase(), exclude, source, zone);
    if (test !== null) tests.push(test);
  }
  if (tests.length === 0) return null;
  const facts = new FactsOnDemand(source);
  return (message) => {
    facts.testing(message);
    for (const test of tests) if (!test(message, facts.get)) return false;
    return true;
  };
}

/**
 * The facts of the message a filter is testing, looked up when a condition first asks. A filter
 * tests one message at a time, so one of these serves a whole search without an allocation per
 * message.
 */
class FactsOnDemand {
  private message: StoredMessage | null = null;
  private facts: MessageFacts | null = null;
  readonly get = (): MessageFacts => (this.facts ??= this.source.facts(this.message!));

  constructor(private readonly source: SearchSource) {}

  testing(message: StoredMessage): void {
    this.message = message;
    this.facts = null;
  }
}
