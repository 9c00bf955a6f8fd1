/**
 * FETCH data items (RFC 3501 §6.4.5) after parsing: what to send for each
 * message, in the order the response lists them.
 */

/** Items whose value is a short token, written before any other item (see FetchRequest.items). */
export type ShortItem = 'UID' | 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE';

/** Every other item but BODY[section]. */
export type LongItem = 'ENVELOPE' | 'BODY' | 'BODYSTRUCTURE' | 'RFC822' | 'RFC822.HEADER' | 'RFC822.TEXT';

/**
 * What follows the part number in a section (RFC 3501 §6.4.5 `section-text`);
 * '' is the whole message (no part number) or the body of the part.
 */
export type SectionText = '' | 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

export interface SectionItem {
  readonly kind: 'BODY[]';
  /** BODY.PEEK: leave \Seen alone. */
  readonly peek: boolean;
  /** The part number, e.g. [2, 1] for `2.1`; empty for the message itself. */
  readonly part: readonly number[];
  readonly text: SectionText;
  /** HEADER.FIELDS and HEADER.FIELDS.NOT: the field names, upper-cased; otherwise empty. */
  readonly fields: readonly string[];
  readonly partial: { readonly start: number; readonly length: number } | null;
  /** How the response names it, e.g. `BODY[HEADER.FIELDS (SUBJECT)]<0>` (always BODY, never BODY.PEEK). */
  readonly label: string;
}

export type FetchItem = { readonly kind: ShortItem | LongItem } | SectionItem;

export interface FetchRequest {
  /**
   * In response order, without repeats: UID, FLAGS, INTERNALDATE and
   * RFC822.SIZE first, then the rest, each group in the order asked. This is
   * Dovecot's order (it sends items it can format at once before those it
   * streams), and it puts UID early, where some clients look for it. An item
   * asked twice is sent once, except BODY[section], which is sent as often
   * as asked, again like Dovecot.
   */
  readonly items: readonly FetchItem[];
  /** True when some item implicitly sets \Seen (BODY[...] without PEEK, RFC822, RFC822.TEXT). */
  readonly setsSeen: boolean;
}

export function isShort(item: FetchItem): boolean {
  return item.kind === 'UID' || item.kind === 'FLAGS' || item.kind === 'INTERNALDATE' || item.kind === 'RFC822.SIZE';
}
