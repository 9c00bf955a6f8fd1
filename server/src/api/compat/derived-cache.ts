import { MessageCache } from '../../store/message-cache.js';
import type { Store } from '../../store/store.js';
import type { StoredMessage } from '../../store/types.js';

const BEYOND_LATIN1 = /[^\x00-\xff]/;

/** The bytes V8 keeps a string's characters in: one each while every one fits in Latin-1, else two. */
export function stringBytes(text: string): number {
  return BEYOND_LATIN1.test(text) ? 2 * text.length : text.length;
}

interface Kept<V> {
  value: V;
  /** Measured once: MessageCache asks for the cost again when the entry leaves. */
  bytes: number;
}

/**
 * What a compat API works out from a message, worked out once and kept within a byte budget:
 * a MessageCache, so the least recently used leave first and every entry leaves with its
 * message. A value costing more than an eighth of the budget is worked out each time instead,
 * since keeping it would push most of the others out.
 */
export class DerivedCache<V> {
  private readonly cache: MessageCache<Kept<V>>;
  private readonly entryMax: number;

  constructor(
    private readonly store: Store,
    budgetBytes: number,
    private readonly derive: (message: StoredMessage) => V,
    private readonly cost: (value: V) => number,
  ) {
    this.cache = new MessageCache(store, budgetBytes, (kept) => kept.bytes);
    this.entryMax = budgetBytes / 8;
  }

  get(message: StoredMessage): V {
    const kept = this.cache.get(message.id);
    if (kept !== undefined) return kept.value;
    const value = this.derive(message);
    const bytes = this.cost(value);
    // A message deleted while a reply was being written is not kept: nothing would ever ask for it.
    if (bytes <= this.entryMax && this.store.get(message.id) === message) this.cache.set(message.id, { value, bytes });
    return value;
  }

  close(): void {
    this.cache.close();
  }
}
