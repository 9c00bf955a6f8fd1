/**
 * SEARCH (RFC 3501 §6.4.4, RFC 5032 WITHIN), ESEARCH results (RFC 4731),
 * SORT and THREAD (RFC 5256), answering as Dovecot 2.3 does for the same
 * mailbox, apart from the few places where it departs from the RFCs (see
 * threadResponse and the tests).
 */
export { runSearch } from './evaluate.js';
export { parseSearch } from './parse-search.js';
export { searchResponse } from './search-response.js';
export { parseSort, runSort } from './sort.js';
export { parseThread, threadResponse } from './thread.js';
export type { Criterion, ReturnOption, SearchContext, SearchError, SearchRequest, SortKey, SortRequest, ThreadAlgorithm, ThreadRequest } from './types.js';
