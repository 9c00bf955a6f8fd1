import type { Store } from './store.js';
import { SEEN, type StoredMessage } from './types.js';

/** One envelope recipient as the mailbox list reports it. */
export interface MailboxCount {
  /** Lower-cased RCPT TO address. */
  address: string;
  /** Stored messages with this address among their envelope recipients. */
  total: number;
  /** Of those, the unread ones. */
  unread: number;
}

interface Tally {
  readonly address: string;
  total: number;
  unread: number;
}

/**
 * Per-recipient message and unread counts, kept current from the store's
 * events so listing mailboxes costs the number of mailboxes, not of messages.
 */
export class MailboxIndex {
  private readonly byAddress = new Map<string, Tally>();
  /** Sorted list, rebuilt only when an address appears or disappears. */
  private sorted: readonly Tally[] | null = null;

  private readonly onNew = (message: StoredMessage): void => this.tally(message, 1, !message.flags.has(SEEN));
  /** An update changes flags only; the store emits it after each change, so the read state flipped or stayed. */
  private readonly onUpdate = (message: StoredMessage, previous: ReadonlySet<string>): void => {
    const unread = !message.flags.has(SEEN);
    if (unread === !previous.has(SEEN)) return;
    for (const tally of this.talliesOf(message, false)) tally.unread += unread ? 1 : -1;
  };
  private readonly onDelete = (messages: StoredMessage[]): void => messages.forEach((m) => this.tally(m, -1, !m.flags.has(SEEN)));
  private readonly onClear = (): void => {
    this.byAddress.clear();
    this.sorted = null;
  };

  constructor(private readonly store: Store) {
    // The store may already hold mail when the index is made.
    for (const message of store.all()) this.onNew(message);
    store.events.on('new', this.onNew).on('update', this.onUpdate).on('delete', this.onDelete).on('clear', this.onClear);
  }

  /** Every mailbox, sorted by address (code unit order, so the same on every machine). */
  list(): MailboxCount[] {
    this.sorted ??= [...this.byAddress.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    return this.sorted.map(({ address, total, unread }) => ({ address, total, unread }));
  }

  close(): void {
    this.store.events.off('new', this.onNew).off('update', this.onUpdate).off('delete', this.onDelete).off('clear', this.onClear);
  }

  /** Adds (`delta` 1) or removes (-1) a message under each distinct envelope recipient. */
  private tally(message: StoredMessage, delta: 1 | -1, unread: boolean): void {
    for (const tally of this.talliesOf(message, delta === 1)) {
      tally.total += delta;
      if (unread) tally.unread += delta;
      if (tally.total === 0) {
        this.byAddress.delete(tally.address);
        this.sorted = null;
      }
    }
  }

  /** The tallies a message counts under, each once, made when `create` is set. */
  private talliesOf(message: StoredMessage, create: boolean): Tally[] {
    const found: Tally[] = [];
    for (const recipient of message.envelope.rcptTo) {
      // An empty address cannot be filtered to, so it is no mailbox.
      if (recipient === '') continue;
      const address = recipient.toLowerCase();
      let tally = this.byAddress.get(address);
      if (tally === undefined) {
        if (!create) continue;
        tally = { address, total: 0, unread: 0 };
        this.byAddress.set(address, tally);
        this.sorted = null;
      }
      // RCPT TO may name one mailbox twice, in different cases.
      if (found.includes(tally)) continue;
      found.push(tally);
    }
    return found;
  }
}
