import { asciiLower } from '../../../match/ascii-lower.js';
import type { EnmimePart } from './parts.js';

/**
 * What may follow a Content-ID for Mailpit to rewrite it. Its pattern is the raw Go string
 * `(["|\'|\\s|\\/|>|;])`, so the class holds `"`, `|`, `'`, a backslash, the letter `s`
 * (either case, under its `(?i)`), `/`, `>` and `;` — and not white space, whatever it meant.
 */
const TERMINATORS = new Set(['"', '|', "'", '\\', 's', '/', '>', ';']);

/**
 * Mailpit's linkInlineImages (server/apiv1/testing.go): `=cid:<id>`, `="cid:<id>` or
 * `='cid:<id>` followed by a terminator becomes the part's API URL, for each listed part with a
 * Content-ID, inline parts first. Content-IDs are compared ASCII case-insensitively. Written as a
 * scan over the `cid:` occurrences instead of one regular expression per part.
 */
export function linkInlineImages(html: string, messageId: string, parts: EnmimePart[]): string {
  /** For each Content-ID length, the lower-cased ids of that length and the URL of the first part with each. */
  const byLength = new Map<number, Map<string, string>>();
  for (const part of parts) {
    if (part.contentId === '') continue;
    const id = asciiLower(part.contentId);
    let ids = byLength.get(id.length);
    if (ids === undefined) byLength.set(id.length, (ids = new Map()));
    if (!ids.has(id)) ids.set(id, `/api/v1/message/${messageId}/part/${part.partId}`);
  }
  if (byLength.size === 0) return html;
  const lower = asciiLower(html);
  const out: string[] = [];
  let copied = 0;
  for (let at = lower.indexOf('cid:'); at >= 0; at = lower.indexOf('cid:', at + 4)) {
    const quoted = lower[at - 1] === '"' || lower[at - 1] === "'";
    const equals = quoted ? at - 2 : at - 1;
    if (equals < copied || lower[equals] !== '=') continue;
    for (const [length, ids] of byLength) {
      const end = at + 4 + length;
      const url = ids.get(lower.slice(at + 4, end));
      if (url === undefined || !TERMINATORS.has(lower[end] ?? '')) continue;
      out.push(html.slice(copied, at), url);
      copied = end;
      break;
    }
  }
  out.push(html.slice(copied));
  return out.join('');
}
