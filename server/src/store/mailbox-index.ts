import type { MessageStore } from './message-store.js';
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
  /** uid of the last message counted here, to count a message once however often RCPT TO names the address. */
  lastUid: number;
}

/**
 * What a message was counted under. A 'delete' event carries only ids, so this
 * is what lets a removal be undone without the message. It holds the tallies
 * themselves, shared by every message to that address, and a lone tally
 * without an array around it: most mail has one recipient, and this is paid
 * for every stored message.
 */
interface Counted {
  readonly tallies: Tally | readonly Tally[];
  unread: boolean;
}

const each = (tallies: Tally | readonly Tally[]): readonly Tally[] => (Array.isArray(tallies) ? tallies : [tallies as Tally]);

/**
 * Per-recipient message and unread counts, kept current from the store's
 * events so listing mailboxes costs the number of mailboxes, not of messages.
 */
export class MailboxIndex {
  private readonly byAddress = new Map<string, Tally>();
  private readonly byMessage = new Map<string, Counted>();
  /** Sorted list, rebuilt only when an address appears or disappears. */
  private sorted: readonly Tally[] | null = null;

  private readonly onNew = (message: StoredMessage): void => this.count(message);
  private readonly onUpdate = (message: StoredMessage): void => this.recount(message);
  private readonly onDelete = (ids: string[]): void => ids.forEach((id) => this.uncount(id));
  private readonly onClear = (): void => {
    this.byAddress.clear();
    this.byMessage.clear();
    this.sorted = null;
  };

  constructor(private readonly store: MessageStore) {
    // The store may already hold mail when the index is made.
    for (const message of store.all()) this.count(message);
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

  private count(message: StoredMessage): void {
    if (this.byMessage.has(message.id)) return;
    const unread = !message.flags.has(SEEN);
    const tallies: Tally[] = [];
    for (const recipient of message.envelope.rcptTo) {
      // An empty address cannot be filtered to, so it is no mailbox.
      if (recipient === '') continue;
      const address = recipient.toLowerCase();
      let tally = this.byAddress.get(address);
      if (tally === undefined) {
        tally = { address, total: 0, unread: 0, lastUid: 0 };
        this.byAddress.set(address, tally);
        this.sorted = null;
      }
      // RCPT TO may name one mailbox twice, in different cases.
      if (tally.lastUid === message.uid) continue;
      tally.lastUid = message.uid;
      tallies.push(tally);
      tally.total += 1;
      if (unread) tally.unread += 1;
    }
    if (tallies.length === 0) return;
    // slice() sizes the array exactly; the one push() grew has room for 16 more.
    this.byMessage.set(message.id, { tallies: tallies.length === 1 ? tallies[0]! : tallies.slice(), unread });
  }

  private recount(message: StoredMessage): void {
    const counted = this.byMessage.get(message.id);
    if (counted === undefined) return;
    const unread = !message.flags.has(SEEN);
    if (unread === counted.unread) return;
    counted.unread = unread;
    for (const tally of each(counted.tallies)) tally.unread += unread ? 1 : -1;
  }

  private uncount(id: string): void {
    const counted = this.byMessage.get(id);
    if (counted === undefined) return;
    this.byMessage.delete(id);
    for (const tally of each(counted.tallies)) {
      tally.total -= 1;
      if (counted.unread) tally.unread -= 1;
      if (tally.total === 0) {
        this.byAddress.delete(tally.address);
        this.sorted = null;
      }
    }
  }
}
