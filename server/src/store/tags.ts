/**
 * Tags are the store's keywords: every flag without a leading backslash. One
 * set per message serves the API (Mailpit's tags), the query language (`tag:`)
 * and IMAP (keywords), so a tag set anywhere is seen everywhere.
 *
 * Names compare case-insensitively, as IMAP keywords do in Dovecot and tag
 * names do in Mailpit; the first spelling the store sees is the one it keeps
 * while any message carries the tag.
 *
 * A tag may hold single spaces (Mailpit allows them) but never `+`, which is
 * how IMAP, whose keywords are atoms (RFC 3501 §9), writes those spaces.
 */

/** What a tag may hold: an IMAP atom character other than `+`, or a single space between two of them. */
const TAG = /^[^\s(){%*"\\\]+\x00-\x1f\x7f](?: ?[^\s(){%*"\\\]+\x00-\x1f\x7f])*$/u;
/** As long as an IMAP keyword may be (imap/commands/flags.ts). */
export const TAG_MAX_LENGTH = 128;

export function isTag(flag: string): boolean {
  return !flag.startsWith('\\');
}

export function isValidTag(name: string): boolean {
  return name.length > 0 && name.length <= TAG_MAX_LENGTH && TAG.test(name);
}

/** A message's tags in the order it got them. */
export function tagsOf(message: { readonly flags: ReadonlySet<string> }): string[] {
  const tags: string[] = [];
  for (const flag of message.flags) if (isTag(flag)) tags.push(flag);
  return tags;
}

export function hasAnyTag(message: { readonly flags: ReadonlySet<string> }): boolean {
  for (const flag of message.flags) if (isTag(flag)) return true;
  return false;
}

export function hasTag(message: { readonly flags: ReadonlySet<string> }, lowerName: string): boolean {
  for (const flag of message.flags) if (isTag(flag) && flag.toLowerCase() === lowerName) return true;
  return false;
}

/** Characters a Mailpit tag may not hold; each becomes a space. */
const MAILPIT_INVALID = /[^a-zA-Z0-9\- _.@]/g;
const MAILPIT_MAX_LENGTH = 100;

/**
 * Mailpit's tag cleaning (its tools.CleanTag), applied to tags that arrive on
 * mail (X-Tags, plus-addresses) and over its API: characters outside
 * `[A-Za-z0-9 -_.@]` become spaces, white space collapses, and the result is
 * cut to 100 characters. Null when nothing is left.
 */
export function cleanTag(text: string): string | null {
  const cleaned = text.replace(MAILPIT_INVALID, ' ').split(' ').filter((word) => word !== '').join(' ').slice(0, MAILPIT_MAX_LENGTH).trim();
  return cleaned === '' ? null : cleaned;
}

/** Tag names in order ignoring case, as the store lists them and Mailpit (SQLite's NOCASE) does. */
export function byTagName(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

interface TagCount {
  name: string;
  count: number;
}

/** How many stored messages carry each tag, under the spelling the store keeps. */
export class TagIndex {
  private readonly byLower = new Map<string, TagCount>();

  /** The spelling already in use for a tag of this name, or the name itself. */
  spelling(name: string): string {
    return this.byLower.get(name.toLowerCase())?.name ?? name;
  }

  has(name: string): boolean {
    return this.byLower.has(name.toLowerCase());
  }

  count(flags: Iterable<string>, delta: 1 | -1): void {
    for (const flag of flags) {
      if (!isTag(flag)) continue;
      const lower = flag.toLowerCase();
      const entry = this.byLower.get(lower);
      if (entry === undefined) {
        if (delta === 1) this.byLower.set(lower, { name: flag, count: 1 });
        continue;
      }
      entry.count += delta;
      if (entry.count <= 0) this.byLower.delete(lower);
    }
  }

  /** A rename that changes only case keeps the tag's entry under its new spelling. */
  respell(from: string, to: string): void {
    const entry = this.byLower.get(from.toLowerCase());
    if (entry !== undefined && from.toLowerCase() === to.toLowerCase()) entry.name = to;
  }

  clear(): void {
    this.byLower.clear();
  }

  /** Every tag in use with its count, by name ignoring case (as Mailpit orders them). */
  list(): TagCount[] {
    return [...this.byLower.values()].sort((a, b) => byTagName(a.name, b.name)).map(({ name, count }) => ({ name, count }));
  }
}
