import { recipientAddresses } from '../search/query.js';
import type { MessageFilter, Store } from '../store/store.js';
import type { StoredMessage } from '../store/types.js';

export interface WaitRequest {
  filter: MessageFilter | null;
  /** A recipient address (lower case) every match has, when the query requires one: only mail to it wakes the wait. */
  recipient: string | null;
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
 * the tick its last message is stored. Waits for one address (an inbox per
 * test) are kept by that address, so a new message is offered only to the
 * waits for its recipients and to those with other queries: hundreds of
 * parallel test workers cost each message a few map lookups, and nothing is
 * ever polled.
 */
export class Waiters {
  private readonly byRecipient = new Map<string, Set<Watch>>();
  private readonly others = new Set<Watch>();
  private closedFlag = false;
  private readonly onNew = (message: StoredMessage): void => {
    // A Set may lose members while it is iterated (a wait that ends); they are simply not visited.
    for (const watch of this.others) watch.offer(message);
    if (this.byRecipient.size === 0) return;
    for (const address of new Set(Array.from(recipientAddresses(message), (a) => a.toLowerCase()))) {
      const watches = this.byRecipient.get(address);
      if (watches) for (const watch of watches) watch.offer(message);
    }
  };

  constructor(private readonly store: Store) {
    store.events.on('new', this.onNew);
  }

  wait(request: WaitRequest): Promise<WaitResult> {
    const { filter, recipient, afterUid, count, quietMs, timeoutMs, signal } = request;
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
          this.forget(watch, recipient);
          clearTimeout(timer);
          if (quietTimer !== null) clearTimeout(quietTimer);
          signal.removeEventListener('abort', abort);
          resolve(result);
        },
      };
      const abort = (): void => watch.end({ kind: 'timeout' });
      const timer = setTimeout(abort, timeoutMs);
      signal.addEventListener('abort', abort);
      if (recipient === null) this.others.add(watch);
      else {
        let watches = this.byRecipient.get(recipient);
        if (watches === undefined) this.byRecipient.set(recipient, (watches = new Set()));
        watches.add(watch);
      }
      restartQuiet();
      if (signal.aborted) abort();
    });
  }

  close(): void {
    this.closedFlag = true;
    this.store.events.off('new', this.onNew);
    for (const watch of [...this.others]) watch.end({ kind: 'closed' });
    for (const watches of [...this.byRecipient.values()]) for (const watch of [...watches]) watch.end({ kind: 'closed' });
  }

  private forget(watch: Watch, recipient: string | null): void {
    if (recipient === null) return void this.others.delete(watch);
    const watches = this.byRecipient.get(recipient);
    if (watches === undefined) return;
    watches.delete(watch);
    if (watches.size === 0) this.byRecipient.delete(recipient);
  }
}
