/**
 * Command lines out of a byte stream, for the POP servers: CRLF or bare LF
 * ends a line, and a line longer than the limit is reported once as null and
 * then dropped as it keeps arriving, so a hostile client cannot grow memory.
 */
export class LineReader {
  private buffer: Buffer = Buffer.alloc(0);
  private discarding = false;

  /** `onLine` answers whether to go on reading (false once the session closed). */
  constructor(
    private readonly maxLine: number,
    private readonly onLine: (line: string | null) => boolean,
  ) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let eol: number;
    while ((eol = this.buffer.indexOf(0x0a)) >= 0) {
      const line = this.buffer.subarray(0, eol > 0 && this.buffer[eol - 1] === 0x0d ? eol - 1 : eol);
      this.buffer = this.buffer.subarray(eol + 1);
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      if (!this.onLine(line.length > this.maxLine ? null : line.toString('utf8'))) return;
    }
    if (this.buffer.length > this.maxLine) {
      this.buffer = Buffer.alloc(0);
      if (!this.discarding && !this.onLine(null)) return;
      this.discarding = true;
    }
  }

  /** Forgets buffered input, as after a TLS upgrade (RFC 2595 §4). */
  reset(): void {
    this.buffer = Buffer.alloc(0);
    this.discarding = false;
  }
}
