import { formatSet } from '../wire/sequence-set.js';
import type { SearchContext, SearchRequest } from './types.js';

function quoted(text: string): string {
  return `"${text.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * The untagged reply to SEARCH: `* SEARCH 2 5` (RFC 3501 §7.2.5), or with
 * RETURN options `* ESEARCH (TAG "a1") UID MIN 2 MAX 5 ALL 2,5 COUNT 2`
 * (RFC 4731 §3.1), options in that order whatever order they were asked in.
 * With no match, MIN, MAX and ALL are left out and COUNT is 0 (§3.1).
 */
export function searchResponse(hits: readonly number[], request: SearchRequest, ctx: SearchContext, opts: { uid: boolean; tag: string }): string {
  // Sequence numbers, or UIDs for UID SEARCH.
  const numbers = opts.uid ? hits.map((i) => ctx.messages[i]!.uid) : hits.map((i) => i + 1);
  if (request.returnOptions === null) return `* SEARCH${numbers.map((n) => ` ${n}`).join('')}\r\n`;
  let line = `* ESEARCH (TAG ${quoted(opts.tag)})${opts.uid ? ' UID' : ''}`;
  for (const option of request.returnOptions) {
    if (option === 'COUNT') line += ` COUNT ${numbers.length}`;
    else if (numbers.length === 0) continue;
    else if (option === 'MIN') line += ` MIN ${numbers[0]}`;
    else if (option === 'MAX') line += ` MAX ${numbers[numbers.length - 1]}`;
    else line += ` ALL ${formatSet(numbers)}`;
  }
  return `${line}\r\n`;
}
