import { api, type MessageSummary } from './api.js';

/** Rows fetched per request; a screen shows a few dozen, so one page covers a scroll step. */
export const PAGE_SIZE = 100;

/**
 * The inbox the page shows: every message matching the search, newest first,
 * as a sparse list that the visible window fills page by page, so 50,000
 * messages cost only what is on screen. Live events are applied in place when
 * that is exact, and otherwise the loaded rows are dropped and fetched again,
 * so nothing is ever shown stale.
 */
export class Inbox {
  /** Rows by position; holes are rows not fetched yet. */
  rows = $state.raw<(MessageSummary | undefined)[]>([]);
  total = $state(0);
  unread = $state(0);
  query = $state('');
  error = $state<string | null>(null);
  loaded = $state(false);
  private pending = new Set<number>();
  private generation = 0;
  private visible: [number, number] = [0, PAGE_SIZE];

  /** Start over: new search, reconnect, or a change that cannot be applied in place. */
  async reload(): Promise<void> {
    this.generation += 1;
    this.pending.clear();
    await this.fetchPage(Math.floor(this.visible[0] / PAGE_SIZE), true);
    await this.ensure(...this.visible);
  }

  /** Makes sure rows [first, last) are fetched; called as the list scrolls. */
  async ensure(first: number, last: number): Promise<void> {
    this.visible = [first, last];
    const pages: Promise<void>[] = [];
    for (let page = Math.floor(first / PAGE_SIZE); page * PAGE_SIZE < Math.min(last, this.total); page++) {
      if (this.rows[page * PAGE_SIZE] === undefined) pages.push(this.fetchPage(page, false));
    }
    await Promise.all(pages);
  }

  private async fetchPage(page: number, replace: boolean): Promise<void> {
    if (!replace && this.pending.has(page)) return;
    this.pending.add(page);
    const generation = this.generation;
    try {
      const result = await api.list(this.query, page * PAGE_SIZE, PAGE_SIZE);
      if (generation !== this.generation) return;
      const rows = replace ? new Array<MessageSummary | undefined>(result.total) : this.rows.slice(0, result.total);
      rows.length = result.total;
      result.messages.forEach((message, i) => (rows[page * PAGE_SIZE + i] = message));
      this.rows = rows;
      this.total = result.total;
      this.unread = result.unread;
      this.error = null;
      this.loaded = true;
    } catch (error) {
      if (generation === this.generation) this.error = (error as Error).message;
    } finally {
      this.pending.delete(page);
    }
  }

  indexOf(id: string): number {
    return this.rows.findIndex((row) => row?.id === id);
  }

  /** New mail goes on top; with a search active the server decides whether it matches. */
  applyNew(summary: MessageSummary): void {
    if (this.query.trim() !== '') {
      void this.reload();
      return;
    }
    if (this.indexOf(summary.id) >= 0) return;
    this.rows = [summary, ...this.rows];
    this.total += 1;
    if (!summary.read) this.unread += 1;
  }

  applyUpdate(summary: MessageSummary): void {
    const index = this.indexOf(summary.id);
    if (index < 0 || this.query.trim() !== '') {
      // Read state may move a message in or out of the search, or change unread counts we cannot see.
      void this.reload();
      return;
    }
    const before = this.rows[index]!;
    if (before.read !== summary.read) this.unread += summary.read ? -1 : 1;
    this.rows = this.rows.with(index, summary);
  }

  applyDelete(ids: readonly string[]): void {
    const gone = new Set(ids);
    const loaded = this.rows.filter((row) => row !== undefined && gone.has(row.id)) as MessageSummary[];
    if (loaded.length < ids.length && this.rows.includes(undefined)) {
      // Some deleted rows were never fetched: positions below them are unknown now.
      void this.reload();
      return;
    }
    this.rows = this.rows.filter((row) => row === undefined || !gone.has(row.id));
    this.total -= loaded.length;
    this.unread -= loaded.filter((row) => !row.read).length;
  }

  applyClear(): void {
    this.rows = [];
    this.total = 0;
    this.unread = 0;
  }
}
