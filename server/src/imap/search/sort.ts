import type { ImapMessage } from '../message.js';
import type { ImapValue } from '../wire/types.js';
import { compareCodePoints } from './casemap.js';
import { runSearch } from './evaluate.js';
import { factsOrBlank, internalSeconds, sortDate } from './message-facts.js';
import { attempt, parseSearchAfter, SearchSyntaxError } from './parse-search.js';
import type { SearchContext, SearchError, SortKey, SortRequest } from './types.js';

const KEYS: readonly SortKey[] = ['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO'];

/**
 * RFC 5256 §3 `SORT (criteria) charset search-keys`. As in Dovecot, a
 * criterion given twice counts once, and a REVERSE before a repeated
 * criterion carries over to the next one that counts.
 */
export function parseSort(args: readonly ImapValue[]): SortRequest | SearchError {
  return attempt(() => {
    const list = args[0];
    if (list?.type !== 'list') throw new SearchSyntaxError('Sort criteria must be a list');
    if (list.items.length === 0) throw new SearchSyntaxError('Empty sort criteria');
    const program: { key: SortKey; reverse: boolean }[] = [];
    let reverse = false;
    let endsInReverse = false;
    for (const item of list.items) {
      const name = item.type === 'atom' ? item.value.toUpperCase() : item.type === 'string' ? item.value.toString('latin1').toUpperCase() : '';
      endsInReverse = name === 'REVERSE';
      if (endsInReverse) {
        reverse = !reverse;
        continue;
      }
      const key = KEYS.find((k) => k === name);
      if (key === undefined) throw new SearchSyntaxError(`Unknown sort criterion ${name.slice(0, 40)}`);
      if (program.some((entry) => entry.key === key)) continue;
      program.push({ key, reverse });
      reverse = false;
    }
    if (endsInReverse) throw new SearchSyntaxError('Sort criteria end with REVERSE');
    return { program, search: parseSearchAfter(args, 1) };
  });
}

/** A sort key's value for one message: numbers compare as numbers, strings by code point. */
function keyOf(key: SortKey, message: ImapMessage): number | string {
  const facts = factsOrBlank(message);
  switch (key) {
    case 'ARRIVAL':
      return internalSeconds(message);
    case 'DATE':
      return sortDate(message);
    case 'SIZE':
      return facts.rfc822Size();
    case 'SUBJECT':
      return facts.baseSubject()?.subject ?? '';
    case 'CC':
      return facts.addressKey('cc');
    case 'FROM':
      return facts.addressKey('from');
    case 'TO':
      return facts.addressKey('to');
  }
}

/** Below U+D800, UTF-16 order is code point order, and the engine's own comparison is much faster. */
const SURROGATE_OR_ABOVE = /[\ud800-\uffff]/;

/** How to compare one criterion's values. */
function comparatorFor(values: readonly (number | string)[]): (a: number, b: number) => number {
  if (values.every((value) => typeof value === 'number')) {
    const numbers = values as readonly number[];
    return (a, b) => numbers[a]! - numbers[b]!;
  }
  const strings = values as readonly string[];
  if (strings.some((value) => SURROGATE_OR_ABOVE.test(value))) return (a, b) => compareCodePoints(strings[a]!, strings[b]!);
  return (a, b) => (strings[a]! < strings[b]! ? -1 : strings[a]! > strings[b]! ? 1 : 0);
}

/**
 * The matching messages (0-based indexes) in RFC 5256 order: by each
 * criterion in turn, REVERSE flipping only its own criterion, and ties left
 * in sequence number order (§3, "sorted by sequence number").
 */
export function runSort(request: SortRequest, ctx: SearchContext): number[] {
  const hits = runSearch(request.search, ctx);
  const columns = request.program.map(({ key, reverse }) => ({
    compare: comparatorFor(hits.map((i) => keyOf(key, ctx.messages[i]!))),
    sign: reverse ? -1 : 1,
  }));
  const order = hits.map((_, k) => k);
  order.sort((a, b) => {
    for (const { compare, sign } of columns) {
      const result = compare(a, b);
      if (result !== 0) return sign * result;
    }
    return a - b;
  });
  return order.map((k) => hits[k]!);
}
