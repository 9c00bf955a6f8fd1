import type { MessageSummary } from './types.js';

/** Which messages count. Every field given must match. */
export interface MessageMatch {
  /** A full address matches exactly (envelope RCPT TO, To, Cc or Bcc); anything else as a substring. */
  to?: string;
  /** The From header or MAIL FROM, as a substring. */
  from?: string;
  /** A substring of the subject (case-insensitive), or a RegExp tested on the subject in the client. */
  subject?: string | RegExp;
  /** More terms in Mailroom's query language, such as `has:attachment` or `header:X-Test-Id=abc`. */
  query?: string;
}

/** A match turned into a server query plus, where the query language cannot say it, a test done here. */
export interface CompiledMatch {
  query: string;
  /** Null when the server's query says it all. */
  test: ((message: Pick<MessageSummary, 'subject'>) => boolean) | null;
  /** For error messages: the match as the user wrote it. */
  description: string;
  /** The one address the match is about (an inbox's, or a full `to` address), for reporting what it got. */
  address?: string;
}

/**
 * A query-language value: bare when it is one plain word, quoted otherwise.
 * The language has no escape for `"` inside quotes, so such values are refused
 * (subjects with quotes are handled by {@link compileMatch} instead).
 */
export function queryValue(value: string): string {
  if (value.includes('"')) throw new TypeError(`Mailroom's query language cannot quote a value containing '"': ${value}`);
  return value === '' || /[\s()]/.test(value) ? `"${value}"` : value;
}

/** The longest run of a string without a double quote: what the server can still narrow by. */
function longestQuoteFree(value: string): string {
  return value.split('"').reduce((best, piece) => (piece.trim().length > best.length ? piece.trim() : best), '');
}

/** What the server matches exactly rather than as a substring. */
const FULL_ADDRESS = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export function compileMatch(match: MessageMatch | string | undefined, scope?: string): CompiledMatch {
  const m: MessageMatch = typeof match === 'string' ? { query: match } : (match ?? {});
  const terms: string[] = [];
  const shown: string[] = [];
  let test: CompiledMatch['test'] = null;
  if (scope !== undefined) {
    terms.push(`to:${queryValue(scope)}`);
    shown.push(`to:${scope}`);
  }
  if (m.to !== undefined) {
    terms.push(`to:${queryValue(m.to)}`);
    shown.push(`to:${m.to}`);
  }
  if (m.from !== undefined) {
    terms.push(`from:${queryValue(m.from)}`);
    shown.push(`from:${m.from}`);
  }
  const subject = m.subject;
  if (subject instanceof RegExp) {
    // A fresh copy so that a /g or /y pattern's lastIndex never carries between messages.
    const re = new RegExp(subject.source, subject.flags.replace(/[gy]/g, ''));
    test = (message) => re.test(message.subject);
    shown.push(`subject:${String(subject)}`);
  } else if (subject !== undefined) {
    if (subject.includes('"')) {
      const wanted = subject.toLowerCase();
      const narrow = longestQuoteFree(subject);
      if (narrow !== '') terms.push(`subject:${queryValue(narrow)}`);
      test = (message) => message.subject.toLowerCase().includes(wanted);
    } else {
      terms.push(`subject:${queryValue(subject)}`);
    }
    shown.push(`subject:${JSON.stringify(subject)}`);
  }
  if (m.query !== undefined && m.query.trim() !== '') {
    terms.push(m.query.trim());
    shown.push(m.query.trim());
  }
  const address = scope ?? (m.to !== undefined && FULL_ADDRESS.test(m.to) ? m.to.toLowerCase() : undefined);
  return { query: terms.join(' '), test, description: shown.length === 0 ? 'any message' : shown.join(' '), ...(address === undefined ? {} : { address }) };
}
