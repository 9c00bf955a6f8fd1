import type { Store } from '../../../store/store.js';
import type { StoredMessage } from '../../../store/types.js';

/**
 * The counters of Mailpit's RuntimeStats that Mailroom can keep from the store's events: messages
 * accepted (by any protocol: SMTP, and IMAP APPEND) with their bytes, and messages deleted
 * (evictions included). Rejections are the SMTP server's to count and are not seen here.
 */
export class RuntimeStats {
  readonly startedAt = Date.now();
  accepted = 0;
  acceptedBytes = 0;
  deleted = 0;
  /** Messages the store holds, so that a clear, which names none, can be counted. */
  private held: number;
  private readonly onNew = (message: StoredMessage): void => {
    this.accepted += 1;
    this.acceptedBytes += message.raw.length;
    this.held += 1;
  };
  private readonly onDelete = (messages: StoredMessage[]): void => {
    this.deleted += messages.length;
    this.held -= messages.length;
  };
  private readonly onClear = (): void => {
    this.deleted += this.held;
    this.held = 0;
  };

  constructor(private readonly store: Store) {
    this.held = store.size;
    store.events.on('new', this.onNew).on('delete', this.onDelete).on('clear', this.onClear);
  }

  close(): void {
    this.store.events.off('new', this.onNew).off('delete', this.onDelete).off('clear', this.onClear);
  }
}
