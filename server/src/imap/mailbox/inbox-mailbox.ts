import { mailboxFilter } from '../../store/mailbox-rule.js';
import type { Store } from '../../store/store.js';
import type { ImapMessage } from '../message.js';
import type { NewMessage } from './mailbox.js';
import { StoreMailbox, storeFlags } from './store-mailbox.js';

/**
 * INBOX: the captured mail a user sees (the POP3 rule: an address sees mail
 * addressed to it, any other name sees everything), straight from the store.
 * UIDs are the store's, strictly ascending, under the store's UIDVALIDITY;
 * \Seen here is "read" in the API and web inbox.
 */
export class InboxMailbox extends StoreMailbox {
  private readonly addressed: boolean;
  /** UIDNEXT as last reported for a filtered INBOX; it never goes back. */
  private uidNextSeen = 1;

  constructor(
    store: Store,
    readonly user: string,
  ) {
    const filter = mailboxFilter(user);
    super(store, 'INBOX', store.uidValidity, null, filter);
    this.addressed = filter !== null;
    this.events.on('exists', (message) => {
      this.uidNextSeen = Math.max(this.uidNextSeen, message.uid + 1);
    });
  }

  /**
   * RFC 3501 §2.3.1.1: UIDNEXT changes only when this mailbox gets mail. The
   * unfiltered INBOX sees all mail, so the store's next uid is right; a
   * filtered one reports one past its newest message, never going back.
   */
  get uidNext(): number {
    if (!this.addressed) return this.store.uidNext;
    const all = this.store.all();
    for (let i = all.length - 1; i >= 0; i--) {
      if (!this.visible(all[i]!)) continue;
      this.uidNextSeen = Math.max(this.uidNextSeen, all[i]!.uid + 1);
      break;
    }
    return this.uidNextSeen;
  }

  /** APPEND to INBOX is a capture like SMTP's, addressed to the user when the user is an address so it stays visible. */
  async append(message: NewMessage): Promise<ImapMessage> {
    const stored = await this.store.add({
      raw: message.raw,
      envelope: { mailFrom: '', rcptTo: this.addressed ? [this.user] : [] },
      smtp: { helo: null, remoteAddress: null, authUser: this.user, tls: false },
      receivedAt: message.internalDate,
      flags: storeFlags(message.flags),
    });
    return this.wrap(stored);
  }
}
