import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { BenchMessage } from './messages.js';

/** One message sent and accepted. */
export interface Sent {
  /** The id from `250 2.0.0 Ok: queued as <id>`. */
  id: string;
  /** performance.now() just before the content and its end-of-data dot were written. */
  dotAt: number;
  /** performance.now() when the 250 to the content arrived. */
  queuedAt: number;
}

interface Reply {
  code: number;
  lines: string[];
  /** performance.now() when the last line arrived. */
  at: number;
}

/**
 * A plain SMTP client for sending one message at a time over one connection,
 * waiting for each reply before the next command (or, asked to pipeline, for
 * the replies to MAIL, RCPT and DATA together), and reading the id out of
 * the 250 to the content. bench/lib/smtp-load.ts is the one for bulk load.
 */
export class SmtpSender {
  /** Whether the server offered PIPELINING (RFC 2920) in its EHLO reply. */
  private pipelining = false;
  private pending = '';
  private lines: string[] = [];
  private readonly replies: Reply[] = [];
  private waiter: { resolve: (reply: Reply) => void; reject: (error: Error) => void } | null = null;
  private failure: Error | null = null;

  private constructor(
    private readonly socket: Socket,
    private readonly where: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('timeout', () => this.fail('no reply in time'));
    socket.on('error', (error) => this.fail(error.message));
    socket.on('close', () => this.fail('the server closed the connection'));
  }

  static async connect(host: string, port: number, replyTimeoutMs: number): Promise<SmtpSender> {
    const socket = connect({ host, port, noDelay: true });
    socket.setTimeout(replyTimeoutMs);
    const sender = new SmtpSender(socket, `${host}:${port}`);
    await sender.expect('greeting', 2);
    sender.socket.write('EHLO bench.example.test\r\n');
    const ehlo = await sender.expect('EHLO', 2);
    sender.pipelining = ehlo.lines.some((line) => /^PIPELINING\b/i.test(line.slice(4)));
    return sender;
  }

  /**
   * With `pipelined`, which needs the server's PIPELINING, MAIL, RCPT and DATA
   * go out in one write: two round trips per message rather than four.
   */
  async send(message: BenchMessage, pipelined = false): Promise<Sent> {
    if (pipelined) {
      if (!this.pipelining) throw new Error(`SMTP ${this.where}: the server did not offer PIPELINING`);
      this.socket.write(`MAIL FROM:<${message.mailFrom}>\r\nRCPT TO:<${message.rcptTo}>\r\nDATA\r\n`);
      await this.expect('MAIL FROM', 2);
      await this.expect('RCPT TO', 2);
    } else {
      this.socket.write(`MAIL FROM:<${message.mailFrom}>\r\n`);
      await this.expect('MAIL FROM', 2);
      this.socket.write(`RCPT TO:<${message.rcptTo}>\r\n`);
      await this.expect('RCPT TO', 2);
      this.socket.write('DATA\r\n');
    }
    await this.expect('DATA', 3);
    const dotAt = performance.now();
    this.socket.write(message.wire);
    const reply = await this.expect('end of data', 2);
    const id = /queued as (\S+)/.exec(reply.lines.join(' '))?.[1];
    if (id === undefined) throw new Error(`SMTP ${this.where}: no id in "${reply.lines.join(' | ')}"`);
    return { id, dotAt, queuedAt: reply.at };
  }

  async close(): Promise<void> {
    this.socket.write('QUIT\r\n');
    await this.expect('QUIT', 2).catch(() => undefined);
    this.failure ??= new Error('closed');
    this.socket.destroy();
  }

  private async expect(label: string, digit: 2 | 3): Promise<Reply> {
    const reply = await this.next();
    if (Math.floor(reply.code / 100) !== digit) throw new Error(`SMTP ${this.where}: ${label} got "${reply.lines.join(' | ')}"`);
    return reply;
  }

  private next(): Promise<Reply> {
    const reply = this.replies.shift();
    if (reply) return Promise.resolve(reply);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private onData(chunk: Buffer): void {
    this.pending += chunk.toString('latin1');
    let end: number;
    while ((end = this.pending.indexOf('\r\n')) >= 0) {
      const line = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + 2);
      this.lines.push(line);
      // Every line of a reply but the last has a '-' after the code.
      if (line[3] === '-') continue;
      const reply = { code: Number(line.slice(0, 3)), lines: this.lines, at: performance.now() };
      this.lines = [];
      const waiter = this.waiter;
      this.waiter = null;
      if (waiter) waiter.resolve(reply);
      else this.replies.push(reply);
    }
  }

  private fail(reason: string): void {
    if (this.failure) return;
    this.failure = new Error(`SMTP ${this.where}: ${reason}`);
    this.socket.destroy();
    this.waiter?.reject(this.failure);
    this.waiter = null;
  }
}
