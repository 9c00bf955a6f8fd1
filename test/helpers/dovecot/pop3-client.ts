import { connect, type Socket } from 'node:net';

/**
 * A bare POP3 client that returns each server response exactly as sent
 * (latin1, one char per byte), multi-line responses as one string with their
 * CRLFs, dot-stuffing and the final ".\r\n" left in place.
 */

/** Commands whose +OK response is multi-line (RFC 1939, RFC 2449 CAPA). LIST and UIDL only without an argument. */
export function isMultiline(command: string): boolean {
  const [verb = '', ...args] = command.trim().split(/\s+/);
  switch (verb.toUpperCase()) {
    case 'RETR':
    case 'TOP':
    case 'CAPA':
      return true;
    case 'LIST':
    case 'UIDL':
      return args.length === 0;
    default:
      return false;
  }
}

export class Pop3Client {
  greeting = '';
  private buffer = '';
  private waiter: { multiline: boolean; resolve: (text: string) => void; reject: (error: Error) => void } | null = null;
  private closedError: Error | null = null;

  private constructor(
    readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.drain();
    });
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('POP3 connection closed')));
  }

  static async connect(port: number, options: { host?: string; timeoutMs?: number } = {}): Promise<Pop3Client> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(port, options.host ?? '127.0.0.1', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
    const client = new Pop3Client(socket, options.timeoutMs ?? 10_000);
    try {
      client.greeting = await client.next(false);
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  /** Sends one command (without CRLF) and resolves with its whole response, without the final CRLF. */
  command(command: string): Promise<string> {
    const reply = this.next(isMultiline(command));
    this.socket.write(`${command}\r\n`, 'latin1');
    return reply;
  }

  close(): void {
    this.socket.destroy();
  }

  private next(multiline: boolean): Promise<string> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (this.waiter) return Promise.reject(new Error('Pop3Client: one command at a time'));
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`POP3 response timed out after ${this.timeoutMs} ms; buffered: ${JSON.stringify(this.buffer.slice(0, 2000))}`));
        this.close();
      }, this.timeoutMs);
      this.waiter = {
        multiline,
        resolve: (text) => {
          clearTimeout(timer);
          resolve(text);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.drain();
    });
  }

  private drain(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    const eol = this.buffer.indexOf('\r\n');
    if (eol < 0) return;
    let end = eol + 2;
    if (waiter.multiline && this.buffer.startsWith('+OK')) {
      // the terminating line is "." alone: either right after the status line or after any CRLF
      const terminator = this.buffer.startsWith('.\r\n', eol + 2) ? eol : this.buffer.indexOf('\r\n.\r\n', eol);
      if (terminator < 0) return;
      end = terminator + 5;
    }
    const text = this.buffer.slice(0, end - 2);
    this.buffer = this.buffer.slice(end);
    this.waiter = null;
    waiter.resolve(text);
  }

  private fail(error: Error): void {
    if (this.closedError) return;
    this.closedError = error;
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(error);
  }
}
