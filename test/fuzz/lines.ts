import { isHttpHeaderLine, isHttpRequestLine } from '../../server/src/guard/http-probe.js';

/**
 * The README's cross-protocol rule (Security): a line protocol answers a
 * connection whose first line is an HTTP request line, or that sends an
 * HTTP header line before logging in, with one error and closes it. The
 * models use the server's own predicates for what counts as HTTP, so that
 * they and the server agree on every line the generators make.
 */
export const looksLikeRequestLine = isHttpRequestLine;
export const looksLikeHeaderLine = isHttpHeaderLine;

export type LineKind = 'normal' | 'long' | 'ambiguous';

/** A command line as a POP server frames it (pop3/line-reader.ts): up to LF, one CR before it removed. */
export interface ClientLine {
  /** The line without its CRLF (or LF). Empty for a too-long line. */
  bytes: Buffer;
  /** As the server decodes it: UTF-8, invalid sequences replaced. */
  text: string;
  /**
   * `long`: over the limit, answered as such whatever the chunking.
   * `ambiguous`: exactly the limit plus a CR, which the server takes as too
   * long only when the CR arrives in an earlier read than the LF.
   */
  kind: LineKind;
  /** 0 for the connection's first line. */
  index: number;
}

/**
 * Splits what a client sends into the lines a POP2/POP3 server sees, with
 * the same limit rule: a line longer than `max` is reported once (as soon as
 * more than `max` bytes wait without a LF) and the rest of it is dropped.
 */
export class LineSplitter {
  private buffer: Buffer = Buffer.alloc(0);
  private discarding = false;
  private count = 0;

  constructor(
    private readonly max: number,
    private readonly onLine: (line: ClientLine) => void,
  ) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let eol: number;
    while ((eol = this.buffer.indexOf(0x0a)) >= 0) {
      const raw = this.buffer.subarray(0, eol);
      this.buffer = this.buffer.subarray(eol + 1);
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      const content = raw.length > 0 && raw[raw.length - 1] === 0x0d ? raw.subarray(0, raw.length - 1) : raw;
      const kind: LineKind = content.length > this.max ? 'long' : raw.length > this.max ? 'ambiguous' : 'normal';
      this.emit(kind === 'long' ? Buffer.alloc(0) : Buffer.from(content), kind);
    }
    // A partial line of exactly the limit plus a CR may still end as an ambiguous line.
    const maybeAmbiguous = this.buffer.length === this.max + 1 && this.buffer[this.max] === 0x0d;
    if (this.buffer.length > this.max && !maybeAmbiguous) {
      this.buffer = Buffer.alloc(0);
      if (!this.discarding) this.emit(Buffer.alloc(0), 'long');
      this.discarding = true;
    }
  }

  private emit(bytes: Buffer, kind: LineKind): void {
    this.onLine({ bytes, text: bytes.toString('utf8'), kind, index: this.count++ });
  }
}

/** Splits server output into CRLF lines; a line holding a bare CR or LF is reported as such. */
export class ReplyLines {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
  }

  /** The next CRLF-terminated line (latin1, CRLF removed), or null when none is complete. */
  line(): string | null {
    const end = this.buffer.indexOf('\r\n');
    if (end < 0) return null;
    const line = this.buffer.toString('latin1', 0, end);
    this.buffer = this.buffer.subarray(end + 2);
    return line;
  }

  /** Exactly `n` raw bytes, or null until they are all here. */
  take(n: number): Buffer | null {
    if (this.buffer.length < n) return null;
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  get pending(): number {
    return this.buffer.length;
  }

  rest(): Buffer {
    return this.buffer;
  }
}
