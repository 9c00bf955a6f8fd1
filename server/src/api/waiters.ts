import type { MessageFilter, MessageStore } from '../store/message-store.js';
import type { StoredMessage } from '../store/types.js';

export interface WaitRequest {
  filter: MessageFilter | null;
  /** Only messages with a greater uid count: the cursor. */
  afterUid: number;
  /** Answer once this many matches exist (ignored with `quietMs`). */
  count: number;
  /** Answer once this long passed without a new match, with every match so far. */
  quietMs: number | null;
  timeoutMs: number;
  signal: AbortSignal;
}

export type WaitResult =
  | { kind: 'found'; messages: StoredMessage[] }
  | { kind: 'timeout' }
  | { kind: 'closed' };

interface Watch {
  offer(message: StoredMessage): void;
  end(result: WaitResult): void;
}

/**
 * Long-poll waits over a cursor. Matches already stored after the cursor count
 * at once; new ones come straight from the store's event, so a wait answers in
 * the tick its last message is stored. Each new message costs one filter call
 * per pending wait, and nothing is ever polled.
 */
export class Waiters {
  private readonly pending = new Set<Watch>();
  private closedFlag = false;
  private readonly onNew = (message: StoredMessage): void => {
    for (const watch of this.pending) watch.offer(message);
  };

  constructor(private readonly store: MessageStore) {
    store.events.on('new', this.onNew);
  }

  wait(request: WaitRequest): Promise<WaitResult> {
    const { filter, afterUid, count, quietMs, timeoutMs, signal } = request;
    const found = this.store.since(afterUid, filter);
    if (quietMs === null && found.length >= count) return Promise.resolve({ kind: 'found', messages: found.slice(0, count) });
    if (this.closedFlag) return Promise.resolve({ kind: 'closed' });
    return new Promise((resolve) => {
      let quietTimer: NodeJS.Timeout | null = null;
      const restartQuiet = (): void => {
        if (quietMs === null) return;
        if (quietTimer !== null) clearTimeout(quietTimer);
        quietTimer = setTimeout(() => watch.end({ kind: 'found', messages: found }), quietMs);
      };
      const watch: Watch = {
        offer: (message) => {
          if (message.uid <= afterUid || (filter !== null && !filter(message))) return;
          found.push(message);
          if (quietMs !== null) restartQuiet();
          else if (found.length >= count) watch.end({ kind: 'found', messages: found });
        },
        end: (result) => {
          this.pending.delete(watch);
          clearTimeout(timer);
          if (quietTimer !== null) clearTimeout(quietTimer);
          signal.removeEventListener('abort', abort);
          resolve(result);
        },
      };
      const abort = (): void => watch.end({ kind: 'timeout' });
      const timer = setTimeout(abort, timeoutMs);
      signal.addEventListener('abort', abort);
      this.pending.add(watch);
      restartQuiet();
      if (signal.aborted) abort();
    });
  }

  close(): void {
    this.closedFlag = true;
    this.store.events.off('new', this.onNew);
    for (const watch of this.pending) watch.end({ kind: 'closed' });
  }
}
