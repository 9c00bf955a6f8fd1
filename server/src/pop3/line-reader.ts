const EMPTY = Buffer.alloc(0);

/**
 * Command lines out of a byte stream, for the POP servers: CRLF or bare LF
 * ends a line, and a line longer than the limit is reported once as null and
 * then dropped as it keeps arriving, so a hostile client cannot grow memory.
 *
 * The session pulls lines when it is ready for them; what has arrived and not
 * been pulled yet stays here as received, and the session pauses the socket
 * meanwhile, so this holds at most what was received before the pause.
 */
export class LineReader {
  private buffer: Buffer = EMPTY;
  private discarding = false;

  constructor(private readonly maxLine: number) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
  }

  /** The next line; null for a line too long (once per line); undefined until a whole line has arrived. */
  next(): string | null | undefined {
    for (;;) {
      const eol = this.buffer.indexOf(0x0a);
      if (eol < 0) {
        if (this.buffer.length <= this.maxLine) return undefined;
        this.buffer = EMPTY;
        if (this.discarding) return undefined;
        this.discarding = true;
        return null;
      }
      const line = this.buffer.subarray(0, eol > 0 && this.buffer[eol - 1] === 0x0d ? eol - 1 : eol);
      this.buffer = eol + 1 === this.buffer.length ? EMPTY : this.buffer.subarray(eol + 1);
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      return line.length > this.maxLine ? null : line.toString('utf8');
    }
  }

  /** Forgets buffered input, as after a TLS upgrade (RFC 2595 §4). */
  reset(): void {
    this.buffer = EMPTY;
    this.discarding = false;
  }
}
