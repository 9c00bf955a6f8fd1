import type { Address } from '../mime/digest.js';
import type { MessageFilter } from '../store/message-store.js';
import { SEEN, type StoredMessage } from '../store/types.js';

/** A query the user must fix; the API answers it with 400. */
export class QueryError extends Error {}

/** Queries are typed by people and CI scripts; anything longer is a mistake or an attack. */
const MAX_QUERY_LENGTH = 4096;
const MAX_TERMS = 64;

type Matcher = (message: StoredMessage) => boolean;

/** Where free words find a message's body text. */
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

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function addressesMatch(re: RegExp, list: readonly Address[]): boolean {
  for (const entry of list) if (re.test(entry.address) || re.test(entry.name)) return true;
  return false;
}

function stringsMatch(re: RegExp, list: readonly string[]): boolean {
  for (const value of list) if (re.test(value)) return true;
  return false;
}

const fromMatches = (re: RegExp, m: StoredMessage): boolean =>
  (m.digest.from !== null && addressesMatch(re, [m.digest.from])) || re.test(m.envelope.mailFrom);

const toMatches = (re: RegExp, m: StoredMessage): boolean =>
  addressesMatch(re, m.digest.to) ||
  addressesMatch(re, m.digest.cc) ||
  addressesMatch(re, m.digest.bcc) ||
  stringsMatch(re, m.envelope.rcptTo);

/** Start of a UTC day written as YYYY-MM-DD. */
function parseDay(key: string, value: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const time = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : NaN;
  const check = new Date(time);
  if (!match || Number.isNaN(time) || check.getUTCDate() !== Number(match[3])) {
    throw new QueryError(`${key}: expects a date as YYYY-MM-DD, got "${value}"`);
  }
  return time;
}

function termMatcher(term: Term, bodyText: TextSource): Matcher {
  const { key, value } = term;
  const re = new RegExp(escapeRegExp(value), 'i');
  switch (key) {
    case null:
      return (m) =>
        re.test(m.digest.subject) || fromMatches(re, m) || toMatches(re, m) || re.test(bodyText(m));
    case 'from':
      return (m) => fromMatches(re, m);
    case 'to':
      return (m) => toMatches(re, m);
    case 'cc':
      return (m) => addressesMatch(re, m.digest.cc);
    case 'subject':
      return (m) => re.test(m.digest.subject);
    case 'message-id':
      return (m) => m.digest.messageId !== null && re.test(m.digest.messageId);
    case 'has':
      if (value.toLowerCase() === 'attachment' || value.toLowerCase() === 'attachments') {
        return (m) => m.digest.attachments.some((a) => a.disposition === 'attachment');
      }
      throw new QueryError(`has: knows only "attachment", got "${value}"`);
    case 'is':
      if (value.toLowerCase() === 'read') return (m) => m.flags.has(SEEN);
      if (value.toLowerCase() === 'unread') return (m) => !m.flags.has(SEEN);
      throw new QueryError(`is: knows only "read" and "unread", got "${value}"`);
    case 'before': {
      const time = parseDay(key, value);
      return (m) => m.receivedAt < time;
    }
    case 'after': {
      const time = parseDay(key, value);
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
