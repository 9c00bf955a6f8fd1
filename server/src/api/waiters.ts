import type { MessageFilter, MessageStore } from '../store/message-store.js';
import type { StoredMessage } from '../store/types.js';

interface Waiter {
  filter: MessageFilter | null;
  settle: (message: StoredMessage | null) => void;
}

/**
 * Long-poll waiters: each new message is offered to every pending waiter once,
 * straight from the store's event, so a waiter answers in the same tick the
 * message is stored.
 */
export class Waiters {
  private readonly pending = new Set<Waiter>();
  private closedFlag = false;
  private readonly onNew = (message: StoredMessage): void => {
    for (const waiter of this.pending) {
      if (waiter.filter === null || waiter.filter(message)) waiter.settle(message);
    }
  };

  constructor(private readonly store: MessageStore) {
    store.events.on('new', this.onNew);
  }

  /** True once the server is shutting down; a null answer then means that, not a timeout. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /** Resolves with the first matching message, or null on timeout or abort. */
  wait(filter: MessageFilter | null, timeoutMs: number, signal: AbortSignal): Promise<StoredMessage | null> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        filter,
        settle: (message) => {
          this.pending.delete(waiter);
          clearTimeout(timer);
          signal.removeEventListener('abort', abort);
          resolve(message);
        },
      };
      const abort = (): void => waiter.settle(null);
      const timer = setTimeout(abort, timeoutMs);
      signal.addEventListener('abort', abort);
      this.pending.add(waiter);
      if (signal.aborted) abort();
    });
  }

  close(): void {
    this.closedFlag = true;
    this.store.events.off('new', this.onNew);
    for (const waiter of this.pending) waiter.settle(null);
  }
}
