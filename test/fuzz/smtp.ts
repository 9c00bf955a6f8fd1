import { Changes, FuzzConn, show, type Observer } from './conn.js';
import type { CaseEnv } from './env.js';
import { bytes, commandLine, fragments, junk, mutateArg, utf8 } from './mutate.js';
import type { Rng } from './random.js';

export const SMTP_GREETING = '220 mailroom ESMTP Mailroom ESMTP ready';

export interface SmtpReply {
  code: number;
  lines: string[];
}

/**
 * Checks an SMTP server's output (RFC 5321 §4.2): every line is a three-digit
 * code from 2xx to 5xx, then a space or a hyphen and printable ASCII; the
 * lines of one reply share their code; there are never more replies than
 * the greeting plus the lines the client sent; nothing follows a 221 or
 * 421, after which the server must close.
 */
export class SmtpModel implements Observer {
  readonly problems: string[] = [];
  readonly changes = new Changes();
  readonly replies: SmtpReply[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private lines: string[] = [];
  private clientLines = 0;
  /** The client has sent bytes after its last LF: a line the server may answer before it ends (too long). */
  private partial = false;
  /** A 221 or 421 came: the server's last word. */
  lastWord = false;
  ended = false;
  lastActivity = Date.now();

  sent(chunk: Buffer): void {
    this.lastActivity = Date.now();
    for (let at = chunk.indexOf(0x0a); at >= 0; at = chunk.indexOf(0x0a, at + 1)) this.clientLines += 1;
    this.partial = chunk[chunk.length - 1] !== 0x0a;
  }

  received(chunk: Buffer): void {
    this.lastActivity = Date.now();
    this.buffer = Buffer.concat([this.buffer, chunk]);
    let end: number;
    while ((end = this.buffer.indexOf('\r\n')) >= 0) {
      this.line(this.buffer.toString('latin1', 0, end));
      this.buffer = this.buffer.subarray(end + 2);
    }
    this.changes.notify();
  }

  serverClosed(): void {
    this.ended = true;
    if (this.buffer.length > 0) this.problem(`the server closed in the middle of a reply line: ${show(this.buffer)}`);
    if (this.lines.length > 0) this.problem(`the server closed in the middle of a multi-line reply: ${show(this.lines.join('\n'))}`);
    this.changes.notify();
  }

  problem(text: string): void {
    if (this.problems.length < 5) this.problems.push(text);
  }

  /** Resolves with the next reply not yet taken, or null when the server closed or `ms` passed. */
  async next(taken: { count: number }, ms: number): Promise<SmtpReply | null> {
    await this.changes.until(() => this.replies.length > taken.count || this.ended, ms);
    const reply = this.replies[taken.count];
    if (reply) taken.count += 1;
    return reply ?? null;
  }

  private line(line: string): void {
    const match = /^([2-5]\d\d)(?:([ -])([\t\x20-\x7e]*))?$/.exec(line);
    if (!match) return this.problem(`malformed reply line ${show(line)}`);
    if (this.lastWord) this.problem(`reply after ${this.replies[this.replies.length - 1]!.code}, the server's last word: ${show(line)}`);
    if (this.lines.length > 0 && !this.lines[0]!.startsWith(match[1]!)) this.problem(`one reply with two codes: ${show(this.lines[0]!)} then ${show(line)}`);
    this.lines.push(line);
    if (match[2] === '-') return;
    const reply = { code: Number(match[1]), lines: this.lines };
    this.lines = [];
    this.replies.push(reply);
    if (this.replies.length > this.clientLines + 1 + (this.partial ? 1 : 0)) this.problem(`${this.replies.length} replies to ${this.clientLines} lines: ${show(line)}`);
    if (this.replies.length === 1 && line !== SMTP_GREETING && reply.code !== 421) this.problem(`greeting ${show(line)} is not ${show(SMTP_GREETING)}`);
    if (reply.code === 221 || reply.code === 421) this.lastWord = true;
  }
}

const RECIPIENTS = ['fuzz-rcpt@fuzz.test', 'other@fuzz.test', 'postmaster', 'a@[127.0.0.1]', '"quoted local"@fuzz.test', 'ü@fuzz.test', 'a@b'];

/** Message content: plain, dots to stuff, bare LF or CR, NULs, 8-bit, very long lines, or junk; sometimes near or past the size limit. */
function content(rng: Rng, maxMessageSize: number): Buffer {
  const head = `From: smtp-fuzz@fuzz.test\r\nTo: fuzz-rcpt@fuzz.test\r\nSubject: fuzz ${rng.int(0, 1e9)}\r\nMessage-ID: <${rng.int(0, 1e9)}@fuzz.test>\r\n\r\n`;
  const body = rng.weighted<() => Buffer>([
    [10, () => utf8('Hello.\r\n')],
    [3, () => utf8('.\r\n..\r\n.hidden\r\n. \r\nend\r\n')],
    [2, () => utf8('bare\nLF\nlines\n')],
    [2, () => utf8('bare\rCR\r')],
    [2, () => Buffer.from([0x41, 0, 0x42, 0x0d, 0x0a, 0xff, 0xfe, 0x0d, 0x0a])],
    [2, () => bytes(Buffer.alloc(rng.int(1000, 100_000), 'x'), '\r\n')],
    [4, () => junk(rng, rng.int(0, 5000))],
    // Rare, so that a batch stores a few MiB at most and the store never evicts the seeds.
    [0.3, () => bytes(Buffer.alloc(rng.int(128 * 1024, maxMessageSize - 64 * 1024), 'y'), '\r\n')],
    [0.5, () => Buffer.alloc(maxMessageSize + rng.int(1, 100_000), 'z')],
  ])();
  return Buffer.concat([utf8(head), body]);
}

/** RFC 5321 §4.5.2: a line that starts with a dot gets one more; the content ends with CRLF . CRLF. */
function dotStuff(data: Buffer): Buffer {
  const text = data.toString('latin1').replace(/(^|\r\n)\./g, '$1..');
  return Buffer.from(`${text}${text.endsWith('\r\n') ? '' : '\r\n'}.\r\n`, 'latin1');
}

/** One SMTP case: a session of mutated commands and messages, junk, long lines, HTTP, bursts, unknown commands or drops. */
export async function smtpCase(env: CaseEnv, maxMessageSize: number, stored: (id: string) => void): Promise<void> {
  const { rng, target } = env;
  const model = new SmtpModel();
  const conn = await FuzzConn.connect(target.ports.smtp);
  conn.observe(model);
  const kind = rng.weighted([
    [40, 'session'],
    [12, 'clean'],
    [10, 'junk'],
    [8, 'long'],
    [10, 'burst'],
    [4, 'http'],
    [4, 'errors'],
    [8, 'drop'],
    [4, 'auth'],
  ] as const);
  env.kind(kind);
  const taken = { count: 0 };
  const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  /**
   * Lines went out that were not the canonical commands (mutated, split by
   * an injected line break, or a message ended oddly): from then on replies
   * may not pair with commands, so a missing one is not a problem by itself.
   */
  let desync = false;
  let quit = false;
  let desyncWaitMs = 0;
  const next = async (what: string): Promise<SmtpReply | null> => {
    // Out of step, a reply may never come (the server sits in DATA): only short waits then, 600 ms in all.
    if (desync && desyncWaitMs > 600) return null;
    const started = Date.now();
    const reply = await model.next(taken, desync ? 100 : env.replyMs);
    if (desync) desyncWaitMs += Date.now() - started;
    if (reply === null && !model.ended && !desync) model.problem(`no reply within ${env.replyMs} ms to ${what}`);
    return reply;
  };
  /** A command line, mutated with probability `p`; `canonical` is what it would be unmutated. */
  const line = (keyword: string, args: string[], p: number): Buffer => {
    const bytesOut = commandLine(rng, keyword, args, p);
    if (!bytesOut.equals(utf8(`${[keyword, ...args].join(' ')}\r\n`))) desync = true;
    return bytesOut;
  };
  const command = async (bytesOut: Buffer | string, expect?: number): Promise<SmtpReply | null> => {
    conn.write(bytesOut);
    const reply = await next(show(bytesOut, 100));
    if (reply && expect !== undefined && !desync && reply.code !== expect) model.problem(`${show(bytesOut, 100)} got ${show(reply.lines.join(' | '))}, expected ${expect}`);
    return reply;
  };
  try {
    const greeting = await next('the connection (greeting)');
    if (greeting) {
      const p = kind === 'clean' ? 0 : kind === 'session' ? 0.2 : 0.4;
      switch (kind) {
        case 'session':
        case 'clean': {
          await command(line(rng.pick(['EHLO', 'EHLO', 'HELO']), [rng.pick(['fuzz.test', '[127.0.0.1]', 'x'])], p / 2), 250);
          for (let m = rng.int(1, 3); m > 0 && !model.lastWord && !model.ended; m--) {
            const pipelined = rng.chance(0.4);
            const from = kind === 'clean' ? 'smtp-fuzz@fuzz.test' : rng.pick(['smtp-fuzz@fuzz.test', '', 'a@b']);
            const params = kind === 'clean' ? '' : `${rng.chance(0.2) ? ` SIZE=${rng.pick(['100', '99999999999', 'x'])}` : ''}${rng.chance(0.1) ? ' BODY=8BITMIME SMTPUTF8' : ''}`;
            const mail = line('MAIL', [`FROM:<${from}>${params}`], p);
            const to = kind === 'clean' ? RECIPIENTS.slice(0, 2) : RECIPIENTS;
            const rcpts = Array.from({ length: rng.int(kind === 'clean' ? 1 : 0, 3) }, () => line('RCPT', [`TO:<${rng.pick(to)}>`], p));
            const data = line('DATA', [], p / 2);
            let dataReply: SmtpReply | null;
            if (pipelined) {
              conn.write(Buffer.concat([mail, ...rcpts, data]));
              for (let i = 0; i < rcpts.length + 1; i++) await next('MAIL or RCPT, pipelined');
              dataReply = await next('DATA, pipelined');
            } else {
              await command(mail, kind === 'clean' ? 250 : undefined);
              for (const rcpt of rcpts) await command(rcpt, kind === 'clean' ? 250 : undefined);
              dataReply = await command(data, kind === 'clean' ? 354 : undefined);
            }
            if (dataReply?.code !== 354) continue;
            const message = content(rng, maxMessageSize);
            // Sometimes a dot on a bare-LF line first, which is content, not the end (RFC 5321 §4.1.1.4).
            const odd = rng.chance(0.1);
            const wire = odd ? bytes(dotStuff(message).subarray(0, -3), '\n.\n\r\n.\r\n') : dotStuff(message);
            for (const piece of fragments(rng, wire)) conn.write(piece);
            const reply = await next(`the end of a ${message.length}-byte message`);
            const id = reply && /^250 .*queued as (\S+)$/.exec(reply.lines[reply.lines.length - 1]!)?.[1];
            if (id) {
              stored(id);
              env.tally('smtp messages stored');
            }
            if (kind === 'clean' && reply && !desync) {
              // Unmutated, every message is taken, or refused only for its size.
              const big = message.length > maxMessageSize;
              if (big ? reply.code !== 552 : !id) model.problem(`a ${message.length}-byte message got ${show(reply.lines.join(' | '))}, expected ${big ? 552 : '250 ... queued as <id>'}`);
            }
            if (rng.chance(0.3)) await command(rng.pick(['RSET\r\n', 'NOOP\r\n', 'VRFY postmaster\r\n', 'HELP\r\n', 'EXPN x\r\n']));
          }
          if (rng.chance(0.8) && !model.lastWord && !model.ended) {
            quit = true;
            await command('QUIT\r\n', 221);
          }
          break;
        }
        case 'auth': {
          await command('EHLO fuzz.test\r\n', 250);
          desync = true;
          const plain = Buffer.from(`\0fuzzer\0${rng.pick(['x', '', 'ü'])}`).toString('base64');
          const attempt = rng.pick([
            [`AUTH PLAIN ${plain}`],
            ['AUTH PLAIN', plain],
            ['AUTH LOGIN', 'ZnV6emVy', 'eA=='],
            ['AUTH LOGIN', '*'],
            ['AUTH CRAM-MD5'],
            ['AUTH PLAIN', '!!!not base64'],
            [`AUTH PLAIN ${'A'.repeat(20_000)}`],
          ]);
          for (const text of attempt) await command(bytes(mutateArg(rng, text, 0.2), '\r\n'));
          if (!model.lastWord && !model.ended) {
            quit = true;
            await command('QUIT\r\n');
          }
          break;
        }
        case 'burst': {
          const lines: Buffer[] = [line('EHLO', ['fuzz.test'], p / 2)];
          for (let i = rng.int(10, 100); i > 0; i--) {
            const [keyword, ...args] = rng.pick(['NOOP', 'RSET', 'MAIL FROM:<a@b>', 'RCPT TO:<fuzz-rcpt@fuzz.test>', 'VRFY x', 'HELP', 'HELO x', 'XYZ', 'EHLO y', 'MAIL FROM:<>']).split(' ');
            lines.push(line(keyword!, args, p));
          }
          lines.push(utf8('QUIT\r\n'));
          quit = true;
          for (const piece of fragments(rng, Buffer.concat(lines))) conn.write(piece);
          break;
        }
        case 'junk':
          desync = true;
          for (let i = rng.int(1, 3); i > 0; i--) conn.write(junk(rng, rng.int(1, 800)));
          conn.write('\r\n.\r\nQUIT\r\n');
          quit = true;
          break;
        case 'long': {
          if (rng.chance(0.5)) await command('EHLO fuzz.test\r\n', 250);
          const length = rng.pick([16 * 1024 + 1, 20_000, 100_000, 1_000_000]);
          // README: a command line over 16 KiB is answered 421 and the connection closed.
          const reply = await command(bytes(rng.pick(['MAIL FROM:<', 'EHLO ', 'NOOP ', '']), Buffer.alloc(length, rng.pick(['a', ' ', '<'])), rng.chance(0.8) ? '\r\n' : ''));
          if (reply && reply.code !== 421) model.problem(`a ${length}-byte command line got ${show(reply.lines.join(' | '))}, expected 421`);
          break;
        }
        case 'http': {
          const request = rng.pick(['GET / HTTP/1.1', 'POST /api/messages HTTP/1.1', 'OPTIONS / HTTP/1.0', 'PUT /x HTTP/1.1']);
          conn.write(`${request}\r\nHost: 127.0.0.1:${target.ports.smtp}\r\nContent-Type: text/plain\r\nContent-Length: 80\r\n\r\nHELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<fuzz-rcpt@fuzz.test>\r\nDATA\r\nhttp\r\n.\r\nQUIT\r\n`);
          // README: a line that starts like an HTTP request is answered 421 and the connection closed.
          const reply = await next(request);
          if (reply && reply.code !== 421) model.problem(`an HTTP request line got ${show(reply.lines.join(' | '))}, expected 421`);
          break;
        }
        case 'errors':
          desync = true;
          for (let i = rng.int(10, 14); i > 0; i--) conn.write(rng.chance(0.7) ? 'BOGUS\r\n' : commandLine(rng, rng.pick(['XYZ', 'FOO', 'GETX']), ['a'], 0.5));
          conn.write('NOOP\r\n');
          break;
        case 'drop':
          if (rng.chance(0.6)) await command('EHLO fuzz.test\r\n');
          if (rng.chance(0.5)) {
            conn.write('MAIL FROM:<a@b>\r\nRCPT TO:<fuzz-rcpt@fuzz.test>\r\nDATA\r\n');
            await wait(rng.int(0, 30));
            conn.write(junk(rng, rng.int(0, 3000)));
          } else {
            conn.write(rng.pick(['MAIL FROM:<a@b', 'EHL', 'RCPT TO:<x@y>\r\nNO', '']));
          }
          await wait(rng.int(0, 20));
          conn.drop();
          break;
      }
      if (!conn.dropped && (quit || model.lastWord || desync)) {
        // Out of step, the server may sit in DATA or in an AUTH exchange: a dot line ends the one, an empty line the other, then QUIT.
        if (desync && !model.lastWord && !model.ended) conn.write('\r\n.\r\nQUIT\r\n');
        // After QUIT or the server's 421 the server must close.
        if (!(await conn.waitEnded(env.replyMs)) && model.problems.length === 0) {
          model.problem(model.lastWord ? `the server sent ${model.replies[model.replies.length - 1]?.code} but kept the connection open for ${env.replyMs} ms` : `QUIT did not end the session within ${env.replyMs} ms`);
        }
      }
    }
    for (const problem of model.problems) env.problem(`${problem} (sent ${conn.transcript()})`);
  } finally {
    conn.drop();
  }
}

/** A client that says EHLO again and again and never reads: smtp-server waits for the socket before the next command. */
export async function smtpPipeliner(port: number, count: number): Promise<FuzzConn> {
  const conn = await FuzzConn.connect(port);
  conn.neverRead();
  // The greeting must come first, or the server refuses an early talker.
  await new Promise((resolve) => setTimeout(resolve, 200));
  conn.write('EHLO pipeliner.fuzz.test\r\n'.repeat(count));
  return conn;
}
