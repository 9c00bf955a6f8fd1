import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

/**
 * A raw IMAP connection for exchanges no ordinary client makes: IDLE held
 * open while others act, garbage, half commands. It keeps every line the
 * server sent (CRLF removed) and waits for a line matching a pattern.
 */
export class ImapWire {
  readonly lines: string[] = [];
  private buffer = '';
  private waiters: { pattern: RegExp; from: number; resolve: (lines: string[]) => void }[] = [];
  private ended = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let end: number;
      while ((end = this.buffer.indexOf('\r\n')) >= 0) {
        this.lines.push(this.buffer.slice(0, end));
        this.buffer = this.buffer.slice(end + 2);
      }
      this.check();
    });
    socket.on('close', () => {
      this.ended = true;
      this.check();
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<ImapWire> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const wire = new ImapWire(socket);
    await wire.until(/^\* OK /);
    return wire;
  }

  get closed(): boolean {
    return this.ended;
  }

  write(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** Sends one tagged command and resolves with every line up to and including its tagged reply. */
  async command(tag: string, text: string): Promise<string[]> {
    const from = this.lines.length;
    this.write(`${tag} ${text}\r\n`);
    await this.until(new RegExp(`^${tag} (OK|NO|BAD)`), from);
    return this.lines.slice(from);
  }

  /** Resolves with the lines received since `from` once one of them matches; rejects after 5 s or on close. */
  until(pattern: RegExp, from = this.lines.length): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; got:\n${this.lines.slice(from).join('\n')}`)), 5000);
      this.waiters.push({
        pattern,
        from,
        resolve: (lines) => {
          clearTimeout(timer);
          resolve(lines);
        },
      });
      this.check();
    });
  }

  async close(): Promise<void> {
    if (!this.ended) {
      this.socket.end();
      await once(this.socket, 'close');
    }
  }

  private check(): void {
    this.waiters = this.waiters.filter((waiter) => {
      const index = this.lines.slice(waiter.from).findIndex((line) => waiter.pattern.test(line));
      if (index < 0 && !this.ended) return true;
      waiter.resolve(this.lines.slice(waiter.from, index < 0 ? undefined : waiter.from + index + 1));
      return false;
    });
  }
}
