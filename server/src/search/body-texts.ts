import { searchText } from '../mime/digest.js';
import type { MessageStore } from '../store/message-store.js';
import type { StoredMessage } from '../store/types.js';

/**
 * Decoded body text for free-word search, made on the first search that needs
 * it and kept within a character budget (oldest first out). The store itself
 * keeps only the part index, so holding mail costs little more than its bytes.
 */
export class BodyTexts {
  private readonly texts = new Map<string, string>();
  private chars = 0;
  private readonly onDelete = (ids: string[]): void => ids.forEach((id) => this.forget(id));
  private readonly onClear = (): void => {
    this.texts.clear();
    this.chars = 0;
  };

  constructor(
    private readonly store: MessageStore,
    private readonly budgetChars: number,
  ) {
    store.events.on('delete', this.onDelete).on('clear', this.onClear);
  }

  get(message: StoredMessage): string {
    const cached = this.texts.get(message.id);
    if (cached !== undefined) return cached;
    const text = searchText(message.raw, message.digest.textPart);
    this.texts.set(message.id, text);
    this.chars += text.length;
    for (const [id, old] of this.texts) {
      if (this.chars <= this.budgetChars || id === message.id) break;
      this.texts.delete(id);
      this.chars -= old.length;
    }
    return text;
  }

  close(): void {
    this.store.events.off('delete', this.onDelete).off('clear', this.onClear);
  }

  private forget(id: string): void {
    const text = this.texts.get(id);
    if (text === undefined) return;
    this.texts.delete(id);
    this.chars -= text.length;
  }
}
