import { api, type MessageSummary } from './api.js';

const PAGE = 200;

/**
 * The inbox the page shows: the newest messages matching the search, kept in
 * step with the server by `apply*` from live events and by `reload` after a
 * reconnect, so nothing is missed.
 */
export class Inbox {
  messages = $state.raw<MessageSummary[]>([]);
  total = $state(0);
  unread = $state(0);
  query = $state('');
  error = $state<string | null>(null);
  private generation = 0;

  async reload(): Promise<void> {
    const generation = ++this.generation;
    try {
      const page = await api.list(this.query, 0, PAGE);
      if (generation !== this.generation) return;
      this.messages = page.messages;
      this.total = page.total;
      this.unread = page.unread;
      this.error = null;
    } catch (error) {
      if (generation === this.generation) this.error = (error as Error).message;
    }
  }

  /** New mail: the server's filter decides whether it belongs here, so the list is fetched again. */
  applyNew(summary: MessageSummary): void {
    if (this.query.trim() !== '') {
      void this.reload();
      return;
    }
    if (this.messages.some((m) => m.id === summary.id)) return;
    this.messages = [summary, ...this.messages].slice(0, PAGE);
    this.total += 1;
    if (!summary.read) this.unread += 1;
  }

  applyUpdate(summary: MessageSummary): void {
    const index = this.messages.findIndex((m) => m.id === summary.id);
    if (index < 0) return;
    const before = this.messages[index]!;
    if (before.read !== summary.read) this.unread += summary.read ? -1 : 1;
    this.messages = this.messages.with(index, summary);
  }

  applyDelete(ids: readonly string[]): void {
    const gone = new Set(ids);
    const removed = this.messages.filter((m) => gone.has(m.id));
    if (removed.length === 0) {
      void this.reload();
      return;
    }
    this.messages = this.messages.filter((m) => !gone.has(m.id));
    this.total -= removed.length;
    this.unread -= removed.filter((m) => !m.read).length;
  }

  applyClear(): void {
    this.messages = [];
    this.total = 0;
    this.unread = 0;
  }
}
