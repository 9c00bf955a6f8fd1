import { api, type Mailbox } from './api.js';
import { Refreshing } from './refreshing.svelte.js';

/** The mailbox sidebar's counts, fetched again after live events (see Refreshing). */
export class MailboxCounts extends Refreshing<Mailbox> {
  constructor() {
    super(async () => (await api.mailboxes()).mailboxes);
  }
}

/**
 * The search that shows one mailbox. A bare `to:` value ends at whitespace and
 * a quoted one at a quote, so an address with either (a quoted local part) is
 * searched as its quote-free pieces, which all have to match.
 */
export function mailboxQuery(address: string): string {
  if (/^[^\s"]+$/.test(address)) return `to:${address}`;
  return address
    .split('"')
    .filter((piece) => piece !== '')
    .map((piece) => `to:"${piece}"`)
    .join(' ');
}

/** The mailbox whose search is the current query, so one typed by hand is highlighted too. */
export function activeMailbox(query: string, mailboxes: readonly Mailbox[]): string | null {
  const wanted = query.trim().toLowerCase();
  if (wanted === '') return null;
  return mailboxes.find((mailbox) => mailboxQuery(mailbox.address) === wanted)?.address ?? null;
}
