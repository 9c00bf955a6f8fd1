import { searchText } from '../mime/digest.js';
import { MessageCache } from '../store/message-cache.js';
import type { Store } from '../store/store.js';
import type { StoredMessage } from '../store/types.js';

/**
 * Decoded body text for free-word search, made on the first search that needs
 * it and kept within a character budget. The store itself keeps only the part
 * index, so holding mail costs little more than its bytes. It is kept
 * lower-cased: search compares in lower case, and lower-casing every body on
 * every search would cost more than the search itself.
 */
export class BodyTexts {
  private readonly texts: MessageCache<string>;

  constructor(store: Store, budgetChars: number) {
    this.texts = new MessageCache(store, budgetChars, (text) => text.length);
  }

  get(message: StoredMessage): string {
    const cached = this.texts.get(message.id);
    if (cached !== undefined) return cached;
    const text = searchText(message.raw, message.digest.textPart).toLowerCase();
    this.texts.set(message.id, text);
    return text;
  }

  close(): void {
    this.texts.close();
  }
}
