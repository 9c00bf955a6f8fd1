import type { Store } from '../../store/store.js';
import type { StoredMessage } from '../../store/types.js';
import type { ImapMessage } from '../message.js';
import type { NewMessage } from './mailbox.js';
import type { FolderQuota } from './quota.js';
import { StoreMailbox, storeFlags } from './store-mailbox.js';

/**
 * A user's own folder (or Sent, Drafts, Trash) over a store of its own: in
 * memory, or a Maildir++ folder of the data directory. Copies share bytes and
 * parse with their source. Folders never evict; the quota refuses instead.
 */
export class FolderMailbox extends StoreMailbox {
  constructor(
    name: string,
    store: Store,
    specialUse: string | null,
    private readonly quota: FolderQuota,
    /** Runs before a message is added: an account kept in memory so far gets its place on disk. */
    private readonly beforeAppend: () => Promise<void>,
  ) {
    super(store, name, store.uidValidity, specialUse);
  }

  get uidNext(): number {
    return this.store.uidNext;
  }

  /** The store behind the folder, for moving or removing it with its account. */
  get backing(): Store {
    return this.store;
  }

  /** An empty folder moves to a store on disk (see Account). */
  moveTo(store: Store): void {
    this.replaceStore(store);
  }

  async append(message: NewMessage): Promise<ImapMessage> {
    await this.beforeAppend();
    this.quota.reserve(message.raw.length);
    try {
      const stored = await this.store.add({
        raw: message.raw,
        envelope: { mailFrom: '', rcptTo: [] },
        smtp: { helo: null, remoteAddress: null, authUser: null, tls: false },
        receivedAt: message.internalDate,
        flags: storeFlags(message.flags),
        ...(message.digest ? { digest: message.digest } : {}),
      });
      return this.wrap(stored);
    } catch (error) {
      this.quota.release(message.raw.length);
      throw error;
    }
  }

  protected override async remove(ids: readonly string[]): Promise<StoredMessage[]> {
    const removed = await super.remove(ids);
    for (const message of removed) this.quota.release(message.raw.length);
    return removed;
  }

  /** Every message, for DELETE and for RENAME of INBOX. */
  async clear(): Promise<void> {
    await this.remove(this.store.all().map((m) => m.id));
  }
}
