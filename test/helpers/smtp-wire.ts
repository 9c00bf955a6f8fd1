import { connect, type Socket } from 'node:net';

export interface Reply {
  code: number;
  lines: string[];
  text: string;
}

/**
 * A bare SMTP client over a socket, for sending exactly the bytes a test
 * means to send, broken ones included.
 */
export class SmtpWire {
  private buffer = '';
  private waiting: ((reply: Reply) => void)[] = [];
  private replies: Reply[] = [];
  private pending: string[] = [];
  closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static open(port: number, host = '127.0.0.1'): Promise<SmtpWire> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => resolve(new SmtpWire(socket)));
      socket.once('error', reject);
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let eol: number;
    while ((eol = this.buffer.indexOf('\r\n')) >= 0) {
      const line = this.buffer.slice(0, eol);
      this.buffer = this.buffer.slice(eol + 2);
      this.pending.push(line);
      if (line[3] !== '-') {
        const lines = this.pending;
        this.pending = [];
        const reply = { code: Number(line.slice(0, 3)), lines, text: lines.join('\n') };
        const waiter = this.waiting.shift();
        if (waiter) waiter(reply);
        else this.replies.push(reply);
      }
    }
  }

  reply(): Promise<Reply> {
    const ready = this.replies.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  async command(line: string): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  close(): void {
    this.socket.destroy();
  }
}
