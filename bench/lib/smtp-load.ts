import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { BenchMessage } from './messages.js';

export interface LoadOptions {
  host: string;
  port: number;
  messages: readonly BenchMessage[];
  connections: number;
  /** A connection that waits this long for a reply fails the run. */
  replyTimeoutMs: number;
}

export interface LoadResult {
  /** From the first connect to the last message's 250. */
  wallMs: number;
  /** performance.now() when each message's end-of-data dot was written. */
  dotAt: Float64Array;
  /** performance.now() when each message's 250 arrived. */
  queuedAt: Float64Array;
  /** Whether every connection could pipeline (the server advertised PIPELINING). */
  pipelined: boolean;
}

interface Reply {
  code: number;
  lines: string[];
}

interface Command {
  /** Names the command in errors. */
  label: string;
  data: string | Buffer;
  /** First digit of the acceptable reply: 2 for 2xx, 3 for the 354 to DATA. */
  expect: 2 | 3;
  /** Set on message content: the index whose dot goes out with it. */
  message?: number;
  onReply?: (reply: Reply) => void;
}

/**
 * Sends every message over `connections` sessions of raw SMTP and resolves
 * once all are accepted. Any reply other than the expected 2xx or 354, a
 * dropped connection or a stall rejects the whole run.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const count = options.messages.length;
  const dotAt = new Float64Array(count);
  const queuedAt = new Float64Array(count);
  let next = 0;
  // One shared queue rather than fixed shares, so no connection idles while another still has a backlog.
  const take = (): number => (next < count ? next++ : -1);
  const start = performance.now();
  const sessions = Array.from(
    { length: Math.max(1, Math.min(options.connections, count)) },
    () => new SmtpSession(options, take, dotAt, queuedAt),
  );
  try {
    const pipelined = await Promise.all(sessions.map((s) => s.done));
    let last = start;
    for (const t of queuedAt) last = Math.max(last, t);
    return { wallMs: last - start, dotAt, queuedAt, pipelined: pipelined.every(Boolean) };
  } catch (error) {
    for (const session of sessions) session.destroy();
    throw error;
  }
}

/**
 * One client connection. Commands wait in `outbox` and move to `inflight`
 * when written; each reply settles the oldest in-flight command. Without
 * PIPELINING only one command is in flight at a time. With it (RFC 2920)
 * MAIL, RCPT and DATA go out together, and after the 354 the content, its
 * dot and the next message's MAIL, RCPT and DATA go out in one write: DATA
 * is always the last command of a group, as section 3.1 requires.
 */
class SmtpSession {
  readonly done: Promise<boolean>;
  private readonly socket: Socket;
  private readonly outbox: Command[] = [];
  private readonly inflight: Command[] = [];
  private pipelining = false;
  private pending = '';
  private lines: string[] = [];
  private finished = false;
  private resolve!: (pipelined: boolean) => void;
  private reject!: (error: Error) => void;

  constructor(
    private readonly options: LoadOptions,
    private readonly take: () => number,
    private readonly dotAt: Float64Array,
    private readonly queuedAt: Float64Array,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.inflight.push({ label: 'greeting', data: '', expect: 2, onReply: () => this.ehlo() });
    this.socket = connect({ host: options.host, port: options.port, noDelay: true });
    this.socket.setTimeout(options.replyTimeoutMs);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('timeout', () => {
      this.fail(`no reply within ${this.options.replyTimeoutMs} ms to ${this.inflight[0]?.label ?? 'nothing'}`);
    });
    this.socket.on('error', (error) => this.fail(error.message));
    this.socket.on('close', () => this.fail(`server closed the connection with ${this.inflight.length} replies outstanding`));
  }

  destroy(): void {
    this.finished = true;
    this.socket.destroy();
  }

  private ehlo(): void {
    this.queue({
      label: 'EHLO',
      data: 'EHLO bench.example.test\r\n',
      expect: 2,
      onReply: (reply) => {
        this.pipelining = reply.lines.some((line) => /^PIPELINING\b/i.test(line.slice(4)));
        this.sendNext();
      },
    });
  }

  private sendNext(): void {
    const index = this.take();
    if (index < 0) {
      this.queue({
        label: 'QUIT',
        data: 'QUIT\r\n',
        expect: 2,
        onReply: () => {
          this.finished = true;
          this.socket.end();
          this.resolve(this.pipelining);
        },
      });
      return;
    }
    const message = this.options.messages[index]!;
    this.queue({ label: `MAIL FROM of message ${index}`, data: `MAIL FROM:<${message.mailFrom}>\r\n`, expect: 2 });
    this.queue({ label: `RCPT TO of message ${index}`, data: `RCPT TO:<${message.rcptTo}>\r\n`, expect: 2 });
    this.queue({ label: `DATA of message ${index}`, data: 'DATA\r\n', expect: 3, onReply: () => this.sendContent(index) });
  }

  private sendContent(index: number): void {
    this.queue({
      label: `end of data of message ${index}`,
      data: this.options.messages[index]!.wire,
      expect: 2,
      message: index,
      onReply: () => {
        this.queuedAt[index] = performance.now();
        if (!this.pipelining) this.sendNext();
      },
    });
    if (this.pipelining) this.sendNext();
  }

  private queue(command: Command): void {
    this.outbox.push(command);
  }

  /** Writes what may go out now, as one batch, since the replies of a whole chunk are handled first. */
  private flush(): void {
    if (this.outbox.length === 0 || (!this.pipelining && this.inflight.length > 0)) return;
    this.socket.cork();
    do {
      const command = this.outbox.shift()!;
      this.inflight.push(command);
      if (command.message !== undefined) this.dotAt[command.message] = performance.now();
      this.socket.write(command.data);
    } while (this.pipelining && this.outbox.length > 0);
    this.socket.uncork();
  }

  private onData(chunk: Buffer): void {
    this.pending += chunk.toString('latin1');
    let start = 0;
    let end: number;
    while (!this.finished && (end = this.pending.indexOf('\r\n', start)) >= 0) {
      this.onLine(this.pending.slice(start, end));
      start = end + 2;
    }
    this.pending = this.pending.slice(start);
    if (!this.finished) this.flush();
  }

  /** Gathers the lines of one reply: every line but the last has a '-' after the code. */
  private onLine(line: string): void {
    if (!/^[2-5]\d\d([ -]|$)/.test(line) || (this.lines.length > 0 && line.slice(0, 3) !== this.lines[0]!.slice(0, 3))) {
      this.fail(`malformed reply line "${line}"`);
      return;
    }
    this.lines.push(line);
    if (line[3] === '-') return;
    const reply = { code: Number(line.slice(0, 3)), lines: this.lines };
    this.lines = [];
    const command = this.inflight.shift();
    if (!command) {
      this.fail(`unexpected reply "${line}" with no command outstanding`);
      return;
    }
    if (Math.floor(reply.code / 100) !== command.expect) {
      this.fail(`${command.label} got "${reply.lines.join(' | ')}"`);
      return;
    }
    command.onReply?.(reply);
  }

  private fail(reason: string): void {
    if (this.finished) return;
    this.finished = true;
    this.socket.destroy();
    this.reject(new Error(`SMTP ${this.options.host}:${this.options.port}: ${reason}`));
  }
}
