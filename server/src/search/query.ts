import type { Address } from '../mime/digest.js';
import { decodeWords, parseHeaderFields } from '../mime/headers.js';
import type { MessageFilter } from '../store/store.js';
import { hasAnyTag, hasTag } from '../store/tags.js';
import { SEEN, type StoredMessage } from '../store/types.js';

/** A query the user must fix; the API answers it with 400. */
export class QueryError extends Error {}

/** Queries are typed by people and CI scripts; anything longer is a mistake or an attack. */
const MAX_QUERY_LENGTH = 4096;
const MAX_TERMS = 64;

type Matcher = (message: StoredMessage) => boolean;

/** Where free words find a message's body text, lower-cased (as BodyTexts keeps it). */
export type TextSource = (message: StoredMessage) => string;

interface Term {
  negated: boolean;
  key: string | null;
  value: string;
}

/**
 * Splits a query into terms: `word`, `"exact phrase"`, `key:value`,
 * `key:"quoted value"`, each optionally negated with a leading `-`.
 */
export function tokenize(query: string): Term[] {
  const terms: Term[] = [];
  const pattern = /(-)?(?:([a-z][a-z-]*):)?(?:"([^"]*)"?|(\S+))/giy;
  let pos = 0;
  while (pos < query.length) {
    while (pos < query.length && /\s/.test(query[pos]!)) pos += 1;
    if (pos >= query.length) break;
    pattern.lastIndex = pos;
    const match = pattern.exec(query);
    if (!match) break;
    pos = pattern.lastIndex;
    const [, minus, key, quoted, bare] = match;
    const value = quoted ?? bare ?? '';
    if (key !== undefined && value === '' && quoted === undefined) {
      // "word:" alone is a free word, not an empty filter.
      terms.push({ negated: minus !== undefined, key: null, value: `${key}:` });
      continue;
    }
    terms.push({ negated: minus !== undefined, key: key?.toLowerCase() ?? null, value });
  }
  return terms;
}

type Needle = (text: string) => boolean;

/** Space, then letters from the most to the least frequent in English text. */
const BY_FREQUENCY = ' etaoinshrdlcumwfgypbvkjxqz';

function rarity(char: string): number {
  const rank = BY_FREQUENCY.indexOf(char);
  if (rank >= 0) return rank;
  return char.charCodeAt(0) < 0x80 ? BY_FREQUENCY.length : BY_FREQUENCY.length + 1;
}

/**
 * Whether a text holds `needle`. indexOf scans for the needle's first character, which is slow
 * when it is a common one, so the search starts at the needle's rarest character: `aliqua` is
 * found as `qua` preceded by `ali`.
 */
function substring(needle: string): Needle {
  let pivot = 0;
  for (let i = 1; i < needle.length; i++) if (rarity(needle[i]!) > rarity(needle[pivot]!)) pivot = i;
  if (pivot === 0) return (text) => text.includes(needle);
  const head = needle.slice(0, pivot);
  const tail = needle.slice(pivot);
  return (text) => {
    for (let at = text.indexOf(tail, pivot); at >= 0; at = text.indexOf(tail, at + 1)) if (text.startsWith(head, at - pivot)) return true;
    return false;
  };
}

/**
 * A case-insensitive substring test. Both sides are lower-cased rather than searched with a
 * RegExp built from the query: the needle once, each haystack per test.
 */
function needle(lower: string): Needle {
  const has = substring(lower);
  // Most needles hold no letter whose case could differ: those need no lower-cased copy of the haystack.
  if (lower === lower.toUpperCase()) return has;
  return (text) => has(text.toLowerCase());
}

function addressesMatch(has: Needle, list: readonly Address[]): boolean {
  for (const entry of list) if (has(entry.address) || has(entry.name)) return true;
  return false;
}

function stringsMatch(has: Needle, list: readonly string[]): boolean {
  for (const value of list) if (has(value)) return true;
  return false;
}

const fromMatches = (has: Needle, m: StoredMessage): boolean =>
  (m.digest.from !== null && addressesMatch(has, [m.digest.from])) || has(m.envelope.mailFrom);

const toMatches = (has: Needle, m: StoredMessage): boolean =>
  addressesMatch(has, m.digest.to) ||
  addressesMatch(has, m.digest.cc) ||
  addressesMatch(has, m.digest.bcc) ||
  stringsMatch(has, m.envelope.rcptTo);

/** A full address (`local@domain`) is matched exactly; anything else as a substring. */
const FULL_ADDRESS = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Every address a message is for, as written: envelope recipients, then the To, Cc and Bcc headers. */
export function* recipientAddresses(message: StoredMessage): Generator<string> {
  yield* message.envelope.rcptTo;
  for (const list of [message.digest.to, message.digest.cc, message.digest.bcc]) for (const entry of list) yield entry.address;
}

function addressIs(wanted: string, list: readonly Address[]): boolean {
  for (const entry of list) if (entry.address.toLowerCase() === wanted) return true;
  return false;
}

/**
 * A UTC day (`2026-11-27`, its start) or an ISO 8601 date-time with a zone
 * (`2026-11-27T10:30:00Z`, `2026-11-27T11:30+01:00`), as epoch milliseconds.
 * A date-time without a zone is refused: CI machines disagree on local time.
 */
function parseInstant(key: string, value: string): number {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const dateTime = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i.exec(value);
  const match = day ?? dateTime;
  const time = day ? Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3])) : dateTime ? Date.parse(value) : NaN;
  // Date.UTC rolls 2026-02-30 over into March; the day must survive the round trip.
  const valid = match !== null && !Number.isNaN(time) && Number(match[2]) <= 12 && Number(match[3]) <= new Date(Date.UTC(Number(match[1]), Number(match[2]), 0)).getUTCDate();
  if (!valid) throw new QueryError(`${key}: expects a date (YYYY-MM-DD) or an ISO date-time with a zone, got "${value}"`);
  return time;
}

/** Values of the header fields named `name` (lower case), unfolded. */
function headerValues(message: StoredMessage, name: string): string[] {
  // The part index knows where the top-level header ends; nothing is scanned for it again.
  const block = message.raw.subarray(0, message.digest.root.bodyStart);
  // Most messages lack a given header: a byte search rejects them without parsing.
  if (block.toString('latin1').toLowerCase().indexOf(name) < 0) return [];
  return parseHeaderFields(block)
    .filter((field) => field.name.toLowerCase() === name)
    .map((field) => field.value);
}

/** `header:Name=value` (value a substring of the decoded field) or `header:Name` (the field is present). */
function headerMatcher(value: string): Matcher {
  const equals = value.indexOf('=');
  const name = (equals < 0 ? value : value.slice(0, equals)).trim().toLowerCase();
  if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) throw new QueryError(`header: expects Name=value, got "${value}"`);
  if (equals < 0) return (m) => headerValues(m, name).length > 0;
  const has = needle(value.slice(equals + 1).toLowerCase());
  return (m) => headerValues(m, name).some((field) => has(decodeWords(field)));
}

function termMatcher(term: Term, bodyText: TextSource): Matcher {
  const { key, value } = term;
  const lower = value.toLowerCase();
  const has = needle(lower);
  const inBody = substring(lower);
  switch (key) {
    case null:
      return (m) => has(m.digest.subject) || fromMatches(has, m) || toMatches(has, m) || inBody(bodyText(m));
    case 'from':
      return (m) => fromMatches(has, m);
    case 'to': {
      if (!FULL_ADDRESS.test(value)) return (m) => toMatches(has, m);
      const wanted = value.toLowerCase();
      return (m) => {
        for (const address of recipientAddresses(m)) if (address.toLowerCase() === wanted) return true;
        return false;
      };
    }
    case 'cc': {
      if (!FULL_ADDRESS.test(value)) return (m) => addressesMatch(has, m.digest.cc);
      const wanted = value.toLowerCase();
      return (m) => addressIs(wanted, m.digest.cc);
    }
    case 'header':
      return headerMatcher(value);
    case 'subject':
      return (m) => has(m.digest.subject);
    case 'message-id':
      return (m) => m.digest.messageId !== null && has(m.digest.messageId);
    case 'has':
      if (value.toLowerCase() === 'attachment' || value.toLowerCase() === 'attachments') {
        return (m) => m.digest.attachments.some((a) => a.disposition === 'attachment');
      }
      throw new QueryError(`has: knows only "attachment", got "${value}"`);
    case 'is':
      if (lower === 'read') return (m) => m.flags.has(SEEN);
      if (lower === 'unread') return (m) => !m.flags.has(SEEN);
      if (lower === 'tagged') return hasAnyTag;
      throw new QueryError(`is: knows only "read", "unread" and "tagged", got "${value}"`);
    case 'tag':
      // A whole tag, ignoring case, as IMAP's KEYWORD and Mailpit's tag: compare.
      return (m) => hasTag(m, lower);
    case 'before': {
      const time = parseInstant(key, value);
      return (m) => m.receivedAt < time;
    }
    case 'after': {
      const time = parseInstant(key, value);
      return (m) => m.receivedAt >= time;
    }
    default: {
      // An unknown prefix is most likely text that happens to contain a colon (a URL, a time).
      return termMatcher({ negated: false, key: null, value: `${key}:${value}` }, bodyText);
    }
  }
}

/** Compiles a query into a filter; an empty query gives null (everything). */
export function compileQuery(query: string | undefined, bodyText: TextSource): MessageFilter | null {
  if (query === undefined || query.trim() === '') return null;
  if (query.length > MAX_QUERY_LENGTH) throw new QueryError(`query is longer than ${MAX_QUERY_LENGTH} characters`);
  const terms = tokenize(query);
  if (terms.length > MAX_TERMS) throw new QueryError(`query has more than ${MAX_TERMS} terms`);
  const matchers = terms.map((term) => {
    const match = termMatcher(term, bodyText);
    return term.negated ? (m: StoredMessage) => !match(m) : match;
  });
  if (matchers.length === 0) return null;
  return (message) => matchers.every((match) => match(message));
}

/**
 * The full address a query requires among the recipients (a `to:` term with a
 * whole address, not negated), lower-cased, or null. Lets a wait be woken only
 * by mail to that address instead of testing every new message against it.
 */
export function requiredRecipient(query: string | undefined): string | null {
  if (query === undefined) return null;
  for (const term of tokenize(query)) {
    if (!term.negated && term.key === 'to' && FULL_ADDRESS.test(term.value)) return term.value.toLowerCase();
  }
  return null;
}
