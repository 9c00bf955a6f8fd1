import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface TimedLine {
  text: string;
  /** performance.now() when the chunk holding the line's end arrived. */
  at: number;
}

/** A raw connection to a line protocol (POP2, POP3) keeping each line the server sent and when it came. */
export class TimedLines {
  readonly lines: TimedLine[] = [];
  closed = false;
  private buffer = '';

  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      const at = performance.now();
      this.buffer += chunk;
      let eol: number;
      while ((eol = this.buffer.indexOf('\r\n')) >= 0) {
        this.lines.push({ text: this.buffer.slice(0, eol), at });
        this.buffer = this.buffer.slice(eol + 2);
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<TimedLines> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new TimedLines(socket);
  }

  /** The first `n` lines, once they have come. */
  async count(n: number, timeoutMs = 15_000): Promise<TimedLine[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length < n) {
      if (Date.now() > deadline || this.closed) throw new Error(`got ${this.lines.length} of ${n} lines: ${JSON.stringify(this.lines.map((l) => l.text))}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return this.lines.slice(0, n);
  }

  /** Every line, once the server has closed the connection. */
  async closing(): Promise<string[]> {
    if (!this.closed) await once(this.socket, 'close');
    return this.lines.map((l) => l.text);
  }
}
