/** Live events within this window cost one request, so a burst of mail does not become a burst of fetches. */
const REFRESH_DELAY_MS = 250;

/**
 * A sidebar list (mailboxes, tags) with counts. It is fetched again after
 * live events rather than patched from them: a delete event names only ids,
 * so the page cannot know which counts it changes.
 */
export class Refreshing<T> {
  list = $state.raw<T[]>([]);
  error = $state<string | null>(null);
  private timer: ReturnType<typeof setTimeout> | undefined;
  private generation = 0;

  constructor(private readonly fetchList: () => Promise<T[]>) {}

  async reload(): Promise<void> {
    const generation = ++this.generation;
    try {
      const list = await this.fetchList();
      if (generation !== this.generation) return;
      this.list = list;
      this.error = null;
    } catch (error) {
      if (generation === this.generation) this.error = (error as Error).message;
    }
  }

  /**
   * After a live event. A pending refresh is not pushed back, so a steady
   * stream of mail still shows within the delay.
   */
  reloadSoon(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.reload();
    }, REFRESH_DELAY_MS);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
