import type { MessageDigest } from '../mime/digest.js';
import { cleanTag } from './tags.js';
import type { Envelope } from './types.js';

/**
 * Where a message's tags may come from when it arrives, as in Mailpit: an
 * `X-Tags: a, b` header, and plus-addresses (`user+a+b@example.test` tags
 * the message `a` and `b`).
 */
export const AUTO_TAG_SOURCES = ['x-tags', 'plus-addresses'] as const;
export type AutoTagSource = (typeof AUTO_TAG_SOURCES)[number];

/** The tags a new message gets, cleaned as Mailpit cleans them, X-Tags first; duplicates are left to the store. */
export function autoTags(digest: MessageDigest, envelope: Envelope, sources: ReadonlySet<AutoTagSource>): string[] {
  const found: string[] = [];
  if (sources.has('x-tags') && digest.tagsHeader !== null) found.push(...digest.tagsHeader.split(','));
  if (sources.has('plus-addresses')) {
    // Mailpit reads To, Cc, Bcc (which holds the envelope recipients the header fields leave out) and From.
    const addresses = [...digest.to, ...digest.cc, ...digest.bcc].map((a) => a.address);
    addresses.push(...envelope.rcptTo);
    if (digest.from !== null) addresses.push(digest.from.address);
    for (const address of addresses) found.push(...plusTags(address));
  }
  return found.flatMap((text) => cleanTag(text) ?? []);
}

/** What sits between the first `+` and the `@` after it, split at each further `+`. */
function plusTags(address: string): string[] {
  const plus = address.indexOf('+');
  if (plus < 0) return [];
  const at = address.indexOf('@', plus + 1);
  return at < 0 ? [] : address.slice(plus + 1, at).split('+');
}
