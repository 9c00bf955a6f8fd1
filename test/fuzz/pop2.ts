import { Changes, FuzzConn, show, type Observer } from './conn.js';
import type { CaseEnv } from './env.js';
import { openLineCase, sendLineCase } from './line-case.js';
import { READERS, SCRATCH } from './env.js';
import { LineSplitter, looksLikeHeaderLine, looksLikeRequestLine, ReplyLines, type ClientLine } from './lines.js';
import { bytes, commandLine, junk, utf8 } from './mutate.js';

/** pop2/session.ts: lines over 512 octets are refused; ten errors in a row close. */
const MAX_LINE = 512;
const MAX_ERRORS = 10;

/** What the server must send next. */
type Reply =
  /** `closes`: the error is the server's last word (HTTP refused). */
  | { kind: 'error'; closes?: boolean }
  | { kind: 'count'; exact?: number; onCount: (n: number) => void; orError?: boolean }
  | { kind: 'length'; exact?: number; onLength: (n: number) => void }
  | { kind: 'octets'; n: number }
  | { kind: 'signoff' }
  | { kind: 'none' };

/**
 * An exact model of a POP2 session (RFC 937 as pop2/session.ts serves it):
 * the states AUTH, MBOX, ITEM, NEXT and DONE, the message marks ACKD makes,
 * and the lengths `=n` announce, so that RETR's octets can be read exactly
 * and every other reply checked for its form and, where the model knows it,
 * its value (`=0` for a marked message, the same length after NACK).
 */
export class Pop2Model implements Observer {
  readonly problems: string[] = [];
  readonly changes = new Changes();
  deleted = 0;
  private readonly splitter = new LineSplitter(MAX_LINE, (line) => this.pending.push(line));
  private readonly pending: ClientLine[] = [];
  private readonly replies = new ReplyLines();
  private greeted = false;
  private state: 'auth' | 'mbox' | 'item' | 'next' = 'auth';
  /** The selected folder is INBOX, whose snapshot has `count` messages; other folders are empty. */
  private inbox = true;
  private count = 0;
  private readonly marked = new Set<number>();
  private current = 1;
  private number = 0;
  private size = 0;
  private errors = 0;
  private tooMany = false;
  closing = false;
  private afterLastWord = false;
  ended = false;
  /** A RETR whose octets are being read. */
  private octetsDue: { n: number; command: string } | null = null;
  private waiting: { reply: Reply; command: string } | null = null;

  constructor(
    private readonly hostname: string,
  ) {}

  sent(chunk: Buffer): void {
    this.splitter.push(chunk);
  }

  received(chunk: Buffer): void {
    this.replies.push(chunk);
    this.parse();
    this.changes.notify();
  }

  serverClosed(): void {
    this.ended = true;
    if (this.replies.pending > 0 && this.octetsDue === null) this.problem(`the server closed in the middle of a reply: ${show(this.replies.rest())}`);
    if (this.octetsDue) this.problem(`the server closed after ${this.replies.pending} of the ${this.octetsDue.n} octets RETR announced`);
    this.changes.notify();
  }

  settled(): boolean {
    if (this.closing) return this.ended;
    return this.greeted && this.pending.length === 0 && this.octetsDue === null && !this.tooMany && this.waiting === null;
  }

  unexpectedClose(): boolean {
    return this.ended && !this.closing;
  }

  waitingFor(): string {
    if (!this.greeted) return 'the greeting';
    if (this.closing) return 'the server to close the connection';
    if (this.octetsDue) return `the ${this.octetsDue.n} octets of ${this.octetsDue.command}`;
    if (this.tooMany) return 'the "Too many errors" line';
    const next = this.pending[0];
    return next ? `a reply to ${show(next.bytes, 80)}${next.kind === 'long' ? ' (a line over 512 octets)' : ''}` : 'nothing';
  }

  private problem(text: string): void {
    if (this.problems.length < 5) this.problems.push(text);
  }

  private parse(): void {
    for (;;) {
      if (this.octetsDue) {
        if (this.replies.take(this.octetsDue.n) === null) return;
        this.octetsDue = null;
        continue;
      }
      // Lines without a reply (after QUIT, a refused session) are consumed here, in order.
      while (!this.closing && !this.tooMany && this.pending.length > 0 && this.waiting === null) {
        const command = this.pending.shift()!;
        const reply = this.expect(command);
        if (reply.kind === 'octets') {
          this.waiting = null;
          this.octetsDue = { n: reply.n, command: 'RETR' };
          this.errors = 0;
          break;
        }
        if (reply.kind !== 'none') this.waiting = { reply, command: command.kind === 'long' ? 'a line over 512 octets' : show(command.bytes, 100) };
      }
      if (this.octetsDue) continue;
      const line = this.replies.line();
      if (line === null) return;
      if (/[\0\r\n]/.test(line)) this.problem(`reply line holds NUL, CR or LF: ${show(line)}`);
      if (!this.greeted) {
        this.greeted = true;
        const greeting = `+ POP2 ${this.hostname} Mailroom server ready`;
        if (line !== greeting) this.problem(`greeting ${show(line)}, expected ${show(greeting)}`);
        continue;
      }
      if (this.closing) {
        if (!this.afterLastWord) this.problem(`reply after the server's last word: ${show(line)}`);
        this.afterLastWord = true;
        continue;
      }
      if (this.tooMany) {
        this.tooMany = false;
        if (line !== '- Too many errors, closing the connection') this.problem(`after ten errors in a row expected "- Too many errors, closing the connection", got ${show(line)}`);
        this.closing = true;
        continue;
      }
      if (this.waiting === null) {
        this.problem(`reply to no command: ${show(line)}`);
        continue;
      }
      const { reply, command } = this.waiting;
      this.waiting = null;
      this.check(reply, command, line);
    }
  }

  private check(reply: Reply, command: string, line: string): void {
    const error = /^- ./.test(line);
    if (error) {
      if (reply.kind === 'error' && reply.closes) {
        this.closing = true;
        return;
      }
      if (reply.kind === 'error' || (reply.kind === 'count' && reply.orError)) return this.err();
      this.problem(`${command} got ${show(line)}, expected ${reply.kind === 'signoff' ? 'the sign-off' : reply.kind === 'count' ? '#n' : '=n'}`);
      return this.err();
    }
    switch (reply.kind) {
      case 'error':
        this.problem(`${command} got ${show(line)}, expected an error ("- reason")`);
        return;
      case 'signoff': {
        const signoff = `+ POP2 ${this.hostname} signing off`;
        if (line !== signoff) this.problem(`${command} got ${show(line)}, expected ${show(signoff)}`);
        this.closing = true;
        return;
      }
      case 'count': {
        const n = /^#(\d+)$/.exec(line)?.[1];
        if (n === undefined) return this.problem(`${command} got ${show(line)}, expected #n`);
        if (reply.exact !== undefined && Number(n) !== reply.exact) this.problem(`${command} got ${show(line)}, expected #${reply.exact}`);
        this.errors = 0;
        return reply.onCount(Number(n));
      }
      case 'length': {
        const n = /^=(\d+)$/.exec(line)?.[1];
        if (n === undefined) return this.problem(`${command} got ${show(line)}, expected =n`);
        if (reply.exact !== undefined && Number(n) !== reply.exact) this.problem(`${command} got ${show(line)}, expected =${reply.exact}`);
        this.errors = 0;
        return reply.onLength(Number(n));
      }
    }
  }

  private err(): void {
    if (++this.errors >= MAX_ERRORS) this.tooMany = true;
  }

  /** What pop2/session.ts does with this line now. */
  private expect(command: ClientLine): Reply {
    if (command.kind === 'long') return { kind: 'error' };
    const text = command.text;
    if (command.kind === 'normal' && ((command.index === 0 && looksLikeRequestLine(text)) || (this.state === 'auth' && looksLikeHeaderLine(text)))) {
      return { kind: 'error', closes: true };
    }
    // An ambiguous line is one of exactly 512 octets and a CR: no command of POP2 is that long but HELO, taken as is.
    const words = text.split(' ').filter((w) => w !== '');
    const keyword = (words[0] ?? '').toUpperCase();
    const args = words.slice(1);
    const state = this.state;
    switch (keyword) {
      case 'HELO':
        if (state !== 'auth' || args.length !== 2) return { kind: 'error' };
        return {
          kind: 'count',
          orError: true,
          onCount: (n) => {
            this.state = 'mbox';
            this.inbox = true;
            this.count = n;
            this.marked.clear();
            this.current = 1;
          },
        };
      case 'FOLD': {
        if (state === 'auth' || state === 'next' || args.length !== 1) return { kind: 'error' };
        const inbox = args[0]!.toUpperCase() === 'INBOX';
        this.deleted += this.marked.size;
        return {
          kind: 'count',
          exact: inbox ? undefined : 0,
          onCount: (n) => {
            this.state = 'mbox';
            this.current = 1;
            this.inbox = inbox;
            if (inbox) {
              this.count = n;
              this.marked.clear();
            }
          },
        };
      }
      case 'READ': {
        if (state === 'auth' || state === 'next' || args.length > 1) return { kind: 'error' };
        let number = state === 'mbox' ? this.current : this.number;
        if (args.length === 1) {
          if (!/^\d{1,9}$/.test(args[0]!) || Number(args[0]) === 0) return { kind: 'error' };
          number = Number(args[0]);
        }
        return this.announce(number);
      }
      case 'RETR':
        if (state !== 'item' || args.length > 0 || this.size === 0) return { kind: 'error' };
        this.state = 'next';
        return { kind: 'octets', n: this.size };
      case 'ACKS':
      case 'ACKD':
      case 'NACK':
        if (state !== 'next' || args.length > 0) return { kind: 'error' };
        if (keyword === 'ACKD') this.marked.add(this.number);
        return keyword === 'NACK' ? this.announce(this.number, this.size) : this.announce(this.number + 1);
      case 'QUIT':
        if (args.length > 0) return { kind: 'error' };
        if (state !== 'auth') this.deleted += this.marked.size;
        return { kind: 'signoff' };
      default:
        return { kind: 'error' };
    }
  }

  /** READ, ACKS, ACKD and NACK: the length of message `number`; 0 past the end, when marked, or outside INBOX. */
  private announce(number: number, same?: number): Reply {
    const none = !this.inbox || this.marked.has(number) || number > this.count;
    return {
      kind: 'length',
      exact: none ? 0 : same,
      onLength: (n) => {
        this.state = 'item';
        this.number = number;
        this.size = n;
      },
    };
  }
}

const COMMANDS = ['READ', 'READ 1', 'READ 2', 'READ 3', 'READ 0', 'READ 999999999', 'RETR', 'ACKS', 'NACK', 'FOLD INBOX', 'FOLD Other', 'FOLD inbox', 'HELO a b', 'RETR 1', 'XYZZY'];

/** One POP2 case: a session of mutated commands with RETR's octets read exactly, junk, long lines, HTTP, bursts or drops. */
export async function pop2Case(env: CaseEnv): Promise<void> {
  const { rng, target } = env;
  const model = new Pop2Model(target.hostname);
  const conn = await FuzzConn.connect(target.ports.pop2);
  conn.observe(model);
  try {
    const kind = await openLineCase(env, model);
    if (kind === null) return;
    const scratch = rng.chance(0.25);
    const user = scratch ? SCRATCH : rng.chance(0.8) ? rng.pick(READERS) : `u${rng.int(0, 50)}`;
    const p = kind === 'session' ? 0.2 : 0.4;
    // Scratch sessions never log in again: as another user they could ACKD the seeds.
    const commands = scratch ? [...COMMANDS.filter((c) => !c.startsWith('HELO')), 'ACKD', 'ACKD', 'ACKD'] : COMMANDS;
    const someCommand = (): Buffer => {
      const [keyword, ...args] = rng.pick(commands).split(' ');
      return commandLine(rng, keyword!, args, p, [300, 600, 5000]);
    };
    // A mutated scratch login could lose its "@" and see every message, the seeds too: scratch logins go out as they are.
    const helo = (): Buffer => commandLine(rng, 'HELO', [user, 'secret'], scratch ? 0 : p / 2);
    const lines: Buffer[] = [];
    switch (kind) {
      case 'session':
      case 'burst': {
        if (rng.chance(0.9)) lines.push(helo());
        const n = kind === 'burst' ? rng.int(20, 150) : rng.int(1, 14);
        for (let i = 0; i < n; i++) {
          // The usual walk: READ, RETR, then an acknowledgement.
          if (rng.chance(0.4)) lines.push(utf8(`READ${rng.chance(0.5) ? ` ${rng.int(1, 4)}` : ''}\r\nRETR\r\n${rng.pick(scratch ? ['ACKS', 'ACKD', 'NACK'] : ['ACKS', 'NACK'])}\r\n`));
          else lines.push(someCommand());
        }
        if (rng.chance(0.8)) lines.push(utf8('QUIT\r\n'));
        break;
      }
      case 'junk':
        if (rng.chance(0.5)) lines.push(helo());
        for (let i = rng.int(1, 3); i > 0; i--) lines.push(junk(rng, rng.int(1, 400)));
        lines.push(utf8('\r\nQUIT\r\n'));
        break;
      case 'long':
        if (rng.chance(0.5)) lines.push(helo());
        lines.push(bytes(rng.pick(['HELO ', 'READ ', 'FOLD ', '']), Buffer.alloc(rng.pick([513, 600, 1024, 4096, 70_000]), rng.pick(['a', '1', ' ', '\0'])), rng.chance(0.8) ? '\r\n' : ''));
        lines.push(someCommand(), utf8('READ\r\n'));
        break;
      case 'http':
        if (rng.chance(0.5)) lines.push(utf8(`POST / HTTP/1.1\r\nHost: 127.0.0.1:${target.ports.pop2}\r\nContent-Length: 40\r\n\r\nHELO ${SCRATCH} x\r\nREAD 1\r\nRETR\r\nACKD\r\nQUIT\r\n`));
        else lines.push(utf8('READ\r\n'), utf8(rng.pick(['Host: 127.0.0.1\r\n', 'Content-Type: text/plain\r\n', 'Origin: http://evil.test\r\n'])), utf8('HELO fuzzer x\r\nREAD 1\r\n'));
        break;
      case 'errors':
        for (let i = rng.int(9, 14); i > 0; i--) lines.push(rng.chance(0.5) ? utf8('BOGUS\r\n') : commandLine(rng, rng.pick(['RETR', 'ACKS', 'READ', 'FOLD']), ['x', 'y'], 0.5));
        lines.push(utf8('HELO fuzzer x\r\nREAD\r\n'));
        break;
      case 'drop':
        if (rng.chance(0.5)) lines.push(helo());
        lines.push(rng.chance(0.5) ? utf8('READ 1\r\nRETR\r\n') : utf8('REA'), junk(rng, rng.int(0, 30)));
        break;
    }
    await sendLineCase(env, model, conn, kind, lines);
    if (scratch && model.deleted > 0) env.tally('pop2 ACKD marks carried out', model.deleted);
  } finally {
    conn.drop();
  }
}

/** A client that has the largest message sent again and again (RETR, NACK, RETR...) and never reads. */
export async function pop2Pipeliner(port: number, message: number, count: number): Promise<FuzzConn> {
  const conn = await FuzzConn.connect(port);
  conn.neverRead();
  conn.write(`HELO fuzzer x\r\nREAD ${message}\r\n${'RETR\r\nNACK\r\n'.repeat(count)}`);
  return conn;
}
