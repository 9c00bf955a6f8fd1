import type { StoredMessage } from './types.js';
import type { Store } from './store.js';

/**
 * Something derived from a message, kept while it is used: entries leave with
 * their message (the store's delete and clear events), and past the budget
 * the least recently used leave first.
 */
export class MessageCache<V> {
  private readonly entries = new Map<string, V>();
  private total = 0;
  private readonly onDelete = (messages: StoredMessage[]): void => messages.forEach((m) => this.forget(m.id));
  private readonly onClear = (): void => {
    this.entries.clear();
    this.total = 0;
  };

  constructor(
    private readonly store: Store,
    private readonly budget: number,
    private readonly cost: (value: V) => number,
  ) {
    store.events.on('delete', this.onDelete).on('clear', this.onClear);
  }

  get(id: string): V | undefined {
    const value = this.entries.get(id);
    if (value !== undefined) {
      // Re-inserting moves it to the young end of the Map's order.
      this.entries.delete(id);
      this.entries.set(id, value);
    }
    return value;
  }

  set(id: string, value: V): void {
    this.forget(id);
    this.entries.set(id, value);
    this.total += this.cost(value);
    for (const [oldId, old] of this.entries) {
      if (this.total <= this.budget || oldId === id) break;
      this.entries.delete(oldId);
      this.total -= this.cost(old);
    }
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  close(): void {
    this.store.events.off('delete', this.onDelete).off('clear', this.onClear);
  }

  private forget(id: string): void {
    const value = this.entries.get(id);
    if (value === undefined) return;
    this.entries.delete(id);
    this.total -= this.cost(value);
  }
}
