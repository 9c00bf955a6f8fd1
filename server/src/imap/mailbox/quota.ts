/** A folder is full: the command is refused with NO [OVERQUOTA] (RFC 5530 §3) and nothing is added. */
export class QuotaError extends Error {}

/**
 * What every user's folders together may hold. Folders live in memory beside
 * the store, so they get the store's own limits (messages and raw bytes), but
 * refuse rather than evict: mail a user filed away is not the oldest capture.
 */
export class FolderQuota {
  private messages = 0;
  private bytes = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {}

  reserve(size: number): void {
    if (this.messages + 1 > this.maxMessages) throw new QuotaError(`Folders hold at most ${this.maxMessages} messages in all`);
    if (this.bytes + size > this.maxBytes) throw new QuotaError(`Folders hold at most ${this.maxBytes} bytes in all`);
    this.messages += 1;
    this.bytes += size;
  }

  /** Counts what folders already hold at start, refusing nothing: the limits apply to what comes next. */
  hold(messages: number, bytes: number): void {
    this.messages += messages;
    this.bytes += bytes;
  }

  release(size: number): void {
    this.messages -= 1;
    this.bytes -= size;
  }
}
