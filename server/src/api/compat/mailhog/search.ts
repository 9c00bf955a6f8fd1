import type { MessageFilter, Store } from '../../../store/store.js';
import type { StoredMessage } from '../../../store/types.js';
import { DerivedCache, stringBytes } from '../derived-cache.js';
import { goText } from './go-encode.js';
import { envelopeAddress, topContent } from './message.js';

export type SearchKind = 'from' | 'to' | 'containing';

export function isSearchKind(kind: unknown): kind is SearchKind {
  return kind === 'from' || kind === 'to' || kind === 'containing';
}

/**
 * Memory for the lower-cased texts MailHog's search reads, which come to about the size of the
 * mail itself: room for 10,000 messages of 4 KB, Mailroom's default store, with some to spare.
 */
export const SEARCH_TEXT_BYTES = 64 * 1024 * 1024;

/**
 * Strings MailHog matches one by one, each lower-cased on its own, kept as one text: each
 * string's end is at `ends`, a separator character after each but the last. A needle without
 * that character can only be found inside one of the strings, so one search of the text answers
 * for all of them.
 */
interface Strings {
  text: string;
  ends: number[];
}

/** What each kind of search reads of one message, lower-cased. */
interface SearchTexts {
  containing: Strings;
  from: Strings;
  to: Strings;
}

const SEPARATOR = '\0';

function strings(values: readonly (string | Buffer)[]): Strings {
  const lowered = values.map((value) => goText(value).toLowerCase());
  const ends: number[] = [];
  let end = -1;
  for (const value of lowered) {
    end += 1 + value.length;
    ends.push(end);
  }
  return { text: lowered.join(SEPARATOR), ends };
}

function has(strings: Strings, needle: string): boolean {
  if (!needle.includes(SEPARATOR)) return strings.text.includes(needle);
  let start = 0;
  for (const end of strings.ends) {
    if (strings.text.slice(start, end).includes(needle)) return true;
    start = end + 1;
  }
  return false;
}

function searchTexts(message: StoredMessage): SearchTexts {
  const content = topContent(message);
  const { mailFrom, rcptTo } = message.envelope;
  return {
    containing: strings([content.Body, ...[...content.Headers.values()].flat()]),
    from: strings([envelopeAddress(mailFrom), ...(content.Headers.get('From') ?? [])]),
    to: strings([...rcptTo.map(envelopeAddress), ...(content.Headers.get('To') ?? [])]),
  };
}

/** Per string: its characters, its end offset, and its share of the object. */
const stringsBytes = ({ text, ends }: Strings): number => stringBytes(text) + 8 * ends.length + 64;

/**
 * MailHog's in-memory search (mailhog/storage memory.go): a case-insensitive substring match.
 * `from` and `to` try the envelope first, then only the header spelled exactly `From` or `To`;
 * `containing` reads the body, still transfer-encoded, and every header value, the ones MailHog
 * adds included. What each kind reads is lower-cased once per message and kept, so a search is
 * one pass over the store with one substring search per message.
 */
export class MailhogSearch {
  private readonly texts: DerivedCache<SearchTexts>;

  constructor(store: Store, budgetBytes: number) {
    this.texts = new DerivedCache(store, budgetBytes, searchTexts, (t) => stringsBytes(t.containing) + stringsBytes(t.from) + stringsBytes(t.to));
  }

  filter(kind: SearchKind, query: string): MessageFilter {
    const needle = query.toLowerCase();
    return (message) => has(this.texts.get(message)[kind], needle);
  }

  close(): void {
    this.texts.close();
  }
}
