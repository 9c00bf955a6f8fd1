import type { ImapValue } from '../wire/types.js';
import { runSearch } from './evaluate.js';
import { attempt, parseSearchAfter, SearchSyntaxError } from './parse-search.js';
import { orderedSubjectThreads } from './thread-ordered-subject.js';
import { referencesThreads } from './thread-references.js';
import { writeThreads } from './thread-tree.js';
import type { SearchContext, SearchError, ThreadRequest } from './types.js';

/** RFC 5256 §3 `THREAD algorithm charset search-keys`. */
export function parseThread(args: readonly ImapValue[]): ThreadRequest | SearchError {
  return attempt(() => {
    const first = args[0];
    const name = first?.type === 'atom' ? first.value : first?.type === 'string' ? first.value.toString('latin1') : '';
    const algorithm = name.toUpperCase();
    if (algorithm !== 'REFERENCES' && algorithm !== 'ORDEREDSUBJECT') throw new SearchSyntaxError(`Unknown thread algorithm ${name.slice(0, 40)}`);
    return { algorithm, search: parseSearchAfter(args, 1) };
  });
}

/**
 * The untagged THREAD reply, `* THREAD (1)(2 3)`, numbers being sequence
 * numbers or, for UID THREAD, UIDs. With no match it is `* THREAD`, as RFC
 * 5256 §5's thread-data reads; Dovecot adds a space after the word.
 */
export function threadResponse(request: ThreadRequest, ctx: SearchContext, opts: { uid: boolean }): string {
  const hits = runSearch(request.search, ctx);
  const roots = request.algorithm === 'REFERENCES' ? referencesThreads(hits, ctx.messages) : orderedSubjectThreads(hits, ctx.messages);
  if (roots.length === 0) return '* THREAD\r\n';
  const numberOf = opts.uid ? (index: number): number => ctx.messages[index]!.uid : (index: number): number => index + 1;
  return `* THREAD ${writeThreads(roots, numberOf)}\r\n`;
}
