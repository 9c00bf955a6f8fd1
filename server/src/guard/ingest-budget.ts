/**
 * Bytes of messages being received (SMTP DATA in progress, IMAP literals),
 * counted across every session. Each session may buffer up to --max-message-size, so without
 * a shared bound a thousand slow senders could pin a thousand messages' worth
 * of memory before any of them is stored.
 */
export class IngestBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Takes `bytes` if they fit; a caller refused here must not keep them. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used -= bytes;
  }
}
