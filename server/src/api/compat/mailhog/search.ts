import type { MessageFilter } from '../../../store/message-store.js';
import type { StoredMessage } from '../../../store/types.js';
import { goText } from './go-encode.js';
import { envelopeAddress, topContent } from './message.js';

export type SearchKind = 'from' | 'to' | 'containing';

export function isSearchKind(kind: unknown): kind is SearchKind {
  return kind === 'from' || kind === 'to' || kind === 'containing';
}

/**
 * MailHog's in-memory search (mailhog/storage memory.go): a case-insensitive
 * substring match. `from` and `to` try the envelope first, then only the
 * header spelled exactly `From` or `To`; `containing` reads the body, still
 * transfer-encoded, and every header value, the ones MailHog adds included.
 * One pass over the store, each message read once.
 */
export function searchFilter(kind: SearchKind, query: string): MessageFilter {
  const needle = query.toLowerCase();
  const has = (bytes: string | Buffer): boolean => goText(bytes).toLowerCase().includes(needle);
  switch (kind) {
    case 'from':
      return (message) => has(envelopeAddress(message.envelope.mailFrom)) || headerHas(message, 'From', has);
    case 'to':
      return (message) => message.envelope.rcptTo.some((to) => has(envelopeAddress(to))) || headerHas(message, 'To', has);
    case 'containing':
      return (message) => {
        const content = topContent(message);
        if (has(content.Body)) return true;
        for (const values of content.Headers.values()) if (values.some(has)) return true;
        return false;
      };
  }
}

function headerHas(message: StoredMessage, name: string, has: (bytes: string) => boolean): boolean {
  return topContent(message).Headers.get(name)?.some(has) ?? false;
}
