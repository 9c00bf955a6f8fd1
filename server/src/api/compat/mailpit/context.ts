import type { MessageFilter, Store } from '../../../store/store.js';
import type { StoredMessage } from '../../../store/types.js';
import { goTrimSpace } from './clean.js';
import { searchZone } from './dates.js';
import type { MailpitFacts } from './facts.js';
import { queryGet, type Query } from '../go-values.js';
import { compileSearch, type SearchSource } from './search.js';

/** What every Mailpit route shares: the store, the facts kept per message, and how ids and searches resolve. */
export class MailpitContext {
  readonly source: SearchSource;

  constructor(
    readonly store: Store,
    readonly facts: MailpitFacts,
  ) {
    this.source = { facts: (m) => facts.of(m), text: (m) => facts.searchText(m) };
  }

  /** A search with the request's `tz` for its dates; null matches every message. Throws SearchError past Mailroom's limits. */
  filter(search: string, query: Query): MessageFilter | null {
    return compileSearch(search, this.source, searchZone(queryGet(query, 'tz')));
  }

  /**
   * The message a path names. `latest` is the newest message received, or with `?query=` the
   * newest match (storage.LatestID); 'none' when there is none to be had.
   */
  resolve(id: string, query: Query): StoredMessage | 'none' | undefined {
    if (id !== 'latest') return this.store.get(id);
    const search = goTrimSpace(queryGet(query, 'query'));
    const filter = search === '' ? null : this.filter(search, query);
    return this.store.page(filter, 0, 1).messages[0] ?? 'none';
  }
}
