import { connect, type Socket } from 'node:net';

/**
 * A bare IMAP client over a socket that keeps every server response exactly
 * as it came off the wire, for byte-for-byte comparisons between a reference
 * server (Dovecot) and Mailroom's own IMAP server. It is deliberately dumb: no
 * parsing beyond framing, one command in flight at a time.
 *
 * Framing: a response is a line ending in CRLF, except that a line ending in a
 * literal announcement `{n}` (also `{n+}` and the BINARY `~{n}`) is followed by
 * exactly n raw bytes and then the rest of the same response. Each response is
 * handed back as one string, literals included verbatim, without its final
 * CRLF. Strings are latin1-decoded so that one char is one byte: no byte is
 * ever lost or merged, and `Buffer.from(text, 'latin1')` gives the wire bytes
 * back (use `literals()` to pull out `{n}` payloads).
 */

export interface ImapReply {
  /** Tag the client gave the command (A1, A2, ...). */
  tag: string;
  /** Every response before the tagged one, `*` and `+` (continuation) lines alike, in order, each without its final CRLF. */
  untagged: string[];
  /** The tagged completion line, without CRLF, e.g. `A3 OK Fetch completed (0.001 + 0.000 secs).` */
  tagged: string;
}

export interface ImapClientOptions {
  host?: string;
  /** Per-command (and greeting) timeout; default 10 s. */
  timeoutMs?: number;
  /** Prefix of the generated tags; default "A" (A1, A2, ...). */
  tagPrefix?: string;
}

const LITERAL_AT_END = /~?\{(\d+)\+?\}$/;

export class ImapClient {
  /** The server greeting line (without CRLF), e.g. `* OK [CAPABILITY ...] Dovecot (Debian) ready.` */
  greeting = '';
  /** Responses that arrived while no command was pending (greeting excluded). */
  readonly unsolicited: string[] = [];

  private buffer: Buffer = Buffer.alloc(0);
  private parts: Buffer[] = [];
  private literalLeft = 0;
  private counter = 0;
  private pending: {
    tag: string;
    untagged: string[];
    resolve: (reply: ImapReply) => void;
    reject: (error: Error) => void;
  } | null = null;
  private continuation: { resolve: (line: string) => void; reject: (error: Error) => void } | null = null;
  private greetingWaiter: { resolve: (line: string) => void; reject: (error: Error) => void } | null = null;
  private closedError: Error | null = null;
  private readonly timeoutMs: number;
  private readonly tagPrefix: string;

  private constructor(
    readonly socket: Socket,
    options: ImapClientOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.tagPrefix = options.tagPrefix ?? 'A';
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('IMAP connection closed')));
  }

  /** Connects and waits for the greeting. */
  static async connect(port: number, options: ImapClientOptions = {}): Promise<ImapClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(port, options.host ?? '127.0.0.1', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
    const client = new ImapClient(socket, options);
    try {
      client.greeting = await client.withTimeout(
        new Promise<string>((resolve, reject) => {
          client.greetingWaiter = { resolve, reject };
        }),
        'greeting',
      );
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  /**
   * Sends one command (without tag and without the final CRLF; the client adds
   * both) and resolves with everything up to its tagged completion. A command
   * may carry synchronizing literals (`{n}\r\n` followed by n bytes): the client
   * waits for the server's `+` continuation before sending each literal.
   * Non-synchronizing `{n+}` literals are sent straight through.
   */
  async command(command: string | Buffer): Promise<ImapReply> {
    if (this.pending) throw new Error('ImapClient: one command at a time');
    if (this.closedError) throw this.closedError;
    const tag = `${this.tagPrefix}${++this.counter}`;
    const bytes = Buffer.concat([Buffer.from(`${tag} `, 'latin1'), typeof command === 'string' ? Buffer.from(command, 'latin1') : command, Buffer.from('\r\n')]);
    const done = new Promise<ImapReply>((resolve, reject) => {
      this.pending = { tag, untagged: [], resolve, reject };
    });
    done.catch(() => undefined);
    try {
      await this.withTimeout(this.send(bytes), `command ${tag}`);
      return await this.withTimeout(done, `command ${tag}`);
    } finally {
      this.pending = null;
    }
  }

  /** Sends LOGOUT (ignoring the outcome) and closes the socket. */
  async logout(): Promise<void> {
    try {
      if (!this.closedError && !this.pending) await this.command('LOGOUT');
    } catch {
      // the server may close before the tagged OK reaches us
    } finally {
      this.close();
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private async send(bytes: Buffer): Promise<void> {
    let start = 0;
    let scan = 0;
    for (;;) {
      const eol = bytes.indexOf('\r\n', scan, 'latin1');
      if (eol < 0 || eol + 2 >= bytes.length) break;
      const line = bytes.subarray(scan, eol).toString('latin1');
      const match = /~?\{(\d+)(\+?)\}$/.exec(line);
      if (!match) {
        scan = eol + 2;
        continue;
      }
      const size = Number(match[1]);
      if (match[2] !== '+') {
        const waiting = new Promise<string>((resolve, reject) => {
          this.continuation = { resolve, reject };
        });
        this.socket.write(bytes.subarray(start, eol + 2));
        const reply = await waiting;
        // A tagged NO/BAD instead of "+": the command is over; its reply is the result.
        if (!reply.startsWith('+')) return;
        start = eol + 2;
      }
      scan = eol + 2 + size;
    }
    this.socket.write(bytes.subarray(start));
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      if (this.literalLeft > 0) {
        if (this.buffer.length === 0) return;
        const take = Math.min(this.literalLeft, this.buffer.length);
        this.parts.push(this.buffer.subarray(0, take));
        this.buffer = this.buffer.subarray(take);
        this.literalLeft -= take;
        continue;
      }
      const eol = this.buffer.indexOf('\r\n');
      if (eol < 0) return;
      const line = this.buffer.subarray(0, eol);
      this.parts.push(this.buffer.subarray(0, eol + 2));
      this.buffer = this.buffer.subarray(eol + 2);
      const literal = LITERAL_AT_END.exec(line.toString('latin1'));
      if (literal) {
        this.literalLeft = Number(literal[1]);
        continue;
      }
      const whole = Buffer.concat(this.parts).toString('latin1');
      this.parts = [];
      this.onResponse(whole.slice(0, -2));
    }
  }

  private onResponse(response: string): void {
    if (this.greetingWaiter) {
      const waiter = this.greetingWaiter;
      this.greetingWaiter = null;
      waiter.resolve(response);
      return;
    }
    if (response.startsWith('+') && this.continuation) {
      // recorded in the reply like any other response, so the wire text stays complete
      this.pending?.untagged.push(response);
      const waiter = this.continuation;
      this.continuation = null;
      waiter.resolve(response);
      return;
    }
    const pending = this.pending;
    if (!pending) {
      this.unsolicited.push(response);
      return;
    }
    if (response.startsWith(`${pending.tag} `)) {
      if (this.continuation) {
        // completed instead of asking for the literal
        const waiter = this.continuation;
        this.continuation = null;
        waiter.resolve(response);
      }
      pending.resolve({ tag: pending.tag, untagged: pending.untagged, tagged: response });
      return;
    }
    pending.untagged.push(response);
  }

  private fail(error: Error): void {
    if (this.closedError) return;
    this.closedError = error;
    const partial = this.pending ? `; so far: ${JSON.stringify(this.pending.untagged).slice(0, 2000)}` : '';
    const wrapped = new Error(`${error.message}${partial}`);
    this.greetingWaiter?.reject(wrapped);
    this.continuation?.reject(wrapped);
    this.pending?.reject(wrapped);
    this.greetingWaiter = null;
    this.continuation = null;
  }

  private withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const partial = this.pending ? `; so far: ${JSON.stringify(this.pending.untagged).slice(0, 2000)}` : '';
        reject(new Error(`IMAP ${what} timed out after ${this.timeoutMs} ms${partial}`));
        this.close();
      }, this.timeoutMs);
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }
}

/** An IMAP quoted string (RFC 3501 `quoted`), for LOGIN arguments and the like. */
export function imapQuote(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The payloads of the `{n}` literals in one response, in order (the response must be latin1 text as the client returns it). */
export function literals(response: string): string[] {
  const out: string[] = [];
  const re = /~?\{(\d+)\+?\}\r\n/g;
  let match: RegExpExecArray | null;
  while ((match = re.exec(response))) {
    const size = Number(match[1]);
    const start = match.index + match[0].length;
    out.push(response.slice(start, start + size));
    re.lastIndex = start + size;
  }
  return out;
}

/** Wire bytes of a response string as the client returns it. */
export function responseBytes(response: string): Buffer {
  return Buffer.from(response, 'latin1');
}

/** The exact text of a whole exchange: every response followed by CRLF, as it was on the wire. */
export function wireText(replies: readonly ImapReply[]): string {
  return replies.map((reply) => [...reply.untagged, reply.tagged].map((line) => `${line}\r\n`).join('')).join('');
}

/**
 * Dovecot appends timings to tagged OK lines (`A3 OK Fetch completed (0.001 + 0.000 secs).`);
 * no setting turns that off. This removes them so tagged lines can be compared.
 */
export function stripTimings(text: string): string {
  return text.replace(/ \(\d+\.\d+ \+ \d+\.\d+(?: \+ \d+\.\d+)? secs\)\./g, '.');
}
