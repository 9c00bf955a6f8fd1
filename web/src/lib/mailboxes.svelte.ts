import { api, type Mailbox } from './api.js';

/** Live events within this window cost one request, so a burst of mail does not become a burst of fetches. */
const REFRESH_DELAY_MS = 250;

/**
 * The mailbox sidebar's counts. They are fetched again after live events
 * rather than patched from them: a delete event names only ids, so the page
 * cannot know which mailboxes it changes.
 */
export class MailboxCounts {
  list = $state.raw<Mailbox[]>([]);
  error = $state<string | null>(null);
  private timer: ReturnType<typeof setTimeout> | undefined;
  private generation = 0;

  async reload(): Promise<void> {
    const generation = ++this.generation;
    try {
      const { mailboxes } = await api.mailboxes();
      if (generation !== this.generation) return;
      this.list = mailboxes;
      this.error = null;
    } catch (error) {
      if (generation === this.generation) this.error = (error as Error).message;
    }
  }

  /**
   * After a live event. A pending refresh is not pushed back, so a steady
   * stream of mail still shows within the delay.
   */
  reloadSoon(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.reload();
    }, REFRESH_DELAY_MS);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
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
