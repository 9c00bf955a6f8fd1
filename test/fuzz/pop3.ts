import { Changes, FuzzConn, show, type Observer } from './conn.js';
import type { CaseEnv } from './env.js';
import { openLineCase, sendLineCase } from './line-case.js';
import { READERS, SCRATCH } from './env.js';
import { LineSplitter, looksLikeHeaderLine, looksLikeRequestLine, ReplyLines, type ClientLine } from './lines.js';
import { bytes, commandLine, junk, mutateArg, utf8 } from './mutate.js';
import type { Rng } from './random.js';

/** pop3/session.ts: lines over 512 octets are refused, arguments over 255, ten errors in a row close. */
const MAX_LINE = 512;
const MAX_ARGUMENTS = 255;
const MAX_ERRORS = 10;

type Status = 'ok' | 'err' | 'cont';
type Body = 'capa' | 'sasl' | 'list' | 'uidl' | 'retr' | 'top';

interface Expectation {
  /** Replies the server may give. */
  allowed: readonly Status[];
  /** The body that follows +OK, if any. */
  body?: Body;
  /** What a +OK line must look like, beyond its status. */
  okFormat?: RegExp;
  onOk?: (line: string) => void;
  onCont?: () => void;
  /** The server ends the session after this reply, whatever it is. */
  closes?: boolean;
}

/**
 * An exact model of a POP3 session (RFC 1939 as pop3/session.ts serves it,
 * without --pop3-auth): fed every byte both ways, it knows which line each
 * reply answers, whether it has a body, what state follows, and when the
 * server must close; anything else is a problem. Logins may succeed or fail
 * ([IN-USE] when another session holds the maildrop), so the model follows
 * the server's answer there.
 */
export class Pop3Model implements Observer {
  readonly problems: string[] = [];
  readonly changes = new Changes();
  /** Messages QUIT reported deleted. */
  deleted = 0;
  private readonly splitter = new LineSplitter(MAX_LINE, (line) => this.pending.push(line));
  private readonly pending: ClientLine[] = [];
  private readonly replies = new ReplyLines();
  private greeted = false;
  private state: 'authorization' | 'transaction' = 'authorization';
  private user: string | null = null;
  private sasl = false;
  private errors = 0;
  private tooMany = false;
  /** The server has said its last word: nothing more may come, and it must close. */
  closing = false;
  private afterLastWord = false;
  ended = false;
  private body: { kind: Body; command: string; octets: number | null; length: number; lines: number } | null = null;
  /** The lines of the last CAPA answer. */
  capa: string[] = [];

  constructor(private readonly greeting: RegExp) {}

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
    if (this.replies.pending > 0) this.problem(`the server closed in the middle of a reply line: ${show(this.replies.rest())}`);
    this.changes.notify();
  }

  /** Every reply the lines sent so far call for has come (and the close, if one is due). */
  settled(): boolean {
    if (this.closing || this.ended) return this.ended || !this.expectsMore();
    return this.greeted && !this.expectsMore();
  }

  private expectsMore(): boolean {
    if (this.closing) return !this.ended;
    return this.pending.length > 0 || this.body !== null || this.tooMany;
  }

  /** Why the session is not settled, for a problem report. */
  waitingFor(): string {
    if (!this.greeted) return 'the greeting';
    if (this.closing) return 'the server to close the connection';
    if (this.body) return `the end of the multi-line reply to ${this.body.command}`;
    if (this.tooMany) return 'the "Too many errors" line';
    const next = this.pending[0];
    return next ? `a reply to ${show(next.bytes, 80)}${next.kind === 'long' ? ' (a line over 512 octets)' : ''}` : 'nothing';
  }

  /** A close the model did not expect, reported once the case is over. */
  unexpectedClose(): boolean {
    return this.ended && !this.closing;
  }

  private problem(text: string): void {
    if (this.problems.length < 5) this.problems.push(text);
  }

  private parse(): void {
    for (;;) {
      const line = this.replies.line();
      if (line === null) return;
      if (!this.greeted) {
        this.greeted = true;
        if (!this.greeting.test(line)) this.problem(`greeting ${show(line)} is not ${this.greeting}`);
        continue;
      }
      if (this.body) {
        this.bodyLine(line);
        continue;
      }
      if (/[\0\r\n]/.test(line)) this.problem(`reply line holds NUL, CR or LF: ${show(line)}`);
      if (this.closing) {
        if (!this.afterLastWord) this.problem(`reply after the server's last word: ${show(line)}`);
        this.afterLastWord = true;
        continue;
      }
      if (this.tooMany) {
        this.tooMany = false;
        if (line !== '-ERR Too many errors, closing the connection') this.problem(`after ten errors in a row expected "-ERR Too many errors, closing the connection", got ${show(line)}`);
        this.closing = true;
        continue;
      }
      const command = this.pending.shift();
      if (!command) {
        this.problem(`reply to no command: ${show(line)}`);
        continue;
      }
      this.answer(command, line);
    }
  }

  private answer(command: ClientLine, line: string): void {
    const status: Status | null = /^\+OK( |$)/.test(line) ? 'ok' : /^-ERR( |$)/.test(line) ? 'err' : /^\+ /.test(line) || line === '+' ? 'cont' : null;
    const what = command.kind === 'long' ? 'a line over 512 octets' : show(command.bytes, 100);
    if (status === null) {
      this.problem(`malformed reply ${show(line)} to ${what}`);
      return;
    }
    if (command.kind === 'ambiguous' && line === '-ERR Line too long') return this.count('err');
    const expected = this.expect(command);
    if (!expected.allowed.includes(status)) {
      this.problem(`${what} got ${show(line)}; expected ${expected.allowed.map((s) => ({ ok: '+OK', err: '-ERR', cont: '+ ' })[s]).join(' or ')}`);
    }
    if (status === 'ok') {
      if (expected.okFormat && !expected.okFormat.test(line)) this.problem(`${what} got ${show(line)}, not of the form ${expected.okFormat}`);
      expected.onOk?.(line);
      if (expected.body === 'capa') this.capa = [];
      if (expected.body) {
        const octets = expected.body === 'retr' ? Number(/^\+OK (\d+) octets$/.exec(line)?.[1] ?? Number.NaN) : null;
        this.body = { kind: expected.body, command: what, octets, length: 0, lines: 0 };
      }
    }
    if (status === 'cont') expected.onCont?.();
    this.count(status);
    if (expected.closes) this.closing = true;
  }

  private count(status: Status): void {
    if (status === 'ok') this.errors = 0;
    if (status === 'err' && ++this.errors >= MAX_ERRORS) this.tooMany = true;
  }

  private bodyLine(line: string): void {
    const body = this.body!;
    if (line === '.') {
      this.body = null;
      if (body.kind === 'retr' && body.length !== body.octets && body.length !== body.octets! + 2) {
        this.problem(`RETR said ${body.octets} octets and sent ${body.length} (after unstuffing) for ${body.command}`);
      }
      if (body.kind === 'sasl' && body.lines !== 1) this.problem(`AUTH listed ${body.lines} mechanisms, expected PLAIN alone`);
      return;
    }
    body.lines += 1;
    if (body.kind === 'capa') this.capa.push(line);
    if (line.includes('\n')) this.problem(`bare LF inside the multi-line reply to ${body.command}: ${show(line)}`);
    if (line.startsWith('.') && !line.startsWith('..')) this.problem(`unstuffed line ${show(line)} in the multi-line reply to ${body.command}`);
    body.length += line.length - (line.startsWith('.') ? 1 : 0) + 2;
    const format: Partial<Record<Body, RegExp>> = {
      capa: /^[A-Z0-9-]+( [\x21-\x7e]+)*$/,
      sasl: /^PLAIN$/,
      list: /^\d+ \d+$/,
      uidl: /^\d+ [\x21-\x7e]{1,70}$/,
    };
    const wanted = format[body.kind];
    if (wanted && !wanted.test(line)) this.problem(`line ${show(line)} of the multi-line reply to ${body.command} is not ${wanted}`);
  }

  /** What pop3/session.ts answers to this line in the current state. */
  private expect(command: ClientLine): Expectation {
    const either: Status[] = ['ok', 'err'];
    if (command.kind === 'long') return { allowed: ['err'] };
    const text = command.text;
    // README, Security: HTTP sent to a mail port gets one error and the connection closes.
    if (command.kind === 'normal' && ((command.index === 0 && looksLikeRequestLine(text)) || (this.state === 'authorization' && !this.sasl && looksLikeHeaderLine(text)))) {
      return { allowed: ['err'], closes: true };
    }
    if (this.sasl) {
      this.sasl = false;
      return { allowed: either, onOk: () => this.login() };
    }
    const space = text.indexOf(' ');
    if (space >= 0 && Buffer.byteLength(text) - space - 1 > MAX_ARGUMENTS) return { allowed: ['err'] };
    const keyword = (space < 0 ? text : text.slice(0, space)).toUpperCase();
    const args = space < 0 ? [] : text.slice(space + 1).split(' ');
    if (!/^[A-Z]{3,4}$/.test(keyword)) return { allowed: ['err'] };
    if (keyword === 'CAPA') return { allowed: ['ok'], body: 'capa' };
    if (keyword === 'QUIT') {
      return {
        allowed: ['ok'],
        closes: true,
        okFormat: this.state === 'transaction' ? /^\+OK Mailroom POP3 signing off \(\d+ messages? deleted\)$/ : /^\+OK Mailroom POP3 signing off$/,
        onOk: (line) => {
          this.deleted += Number(/\((\d+) messages? deleted\)/.exec(line)?.[1] ?? 0);
        },
      };
    }
    if (keyword === 'NOOP' && this.state === 'transaction') return { allowed: ['ok'] };
    if (this.state === 'authorization') {
      switch (keyword) {
        case 'USER':
          if (args.length !== 1 || args[0] === '') return { allowed: ['err'] };
          return { allowed: ['ok'], onOk: () => (this.user = args[0]!) };
        case 'PASS':
          return this.user === null ? { allowed: ['err'] } : { allowed: either, onOk: () => this.login() };
        case 'APOP':
          return args.length !== 2 ? { allowed: ['err'] } : { allowed: either, onOk: () => this.login() };
        case 'AUTH':
          if (args.length === 0) return { allowed: ['ok'], body: 'sasl' };
          if (args[0]!.toUpperCase() !== 'PLAIN') return { allowed: ['err'] };
          if (args.length === 1) return { allowed: ['cont'], onCont: () => (this.sasl = true) };
          return { allowed: either, onOk: () => this.login() };
        default:
          return { allowed: ['err'] };
      }
    }
    switch (keyword) {
      case 'STAT':
        return { allowed: ['ok'], okFormat: /^\+OK \d+ \d+$/ };
      case 'LIST':
      case 'UIDL':
        if (args.length > 0) return { allowed: either, okFormat: keyword === 'LIST' ? /^\+OK \S+ \d+$/ : /^\+OK \S+ [\x21-\x7e]{1,70}$/ };
        return { allowed: ['ok'], body: keyword === 'LIST' ? 'list' : 'uidl' };
      case 'RETR':
        return { allowed: either, body: 'retr', okFormat: /^\+OK \d+ octets$/ };
      case 'TOP':
        return { allowed: either, body: 'top' };
      case 'DELE':
      case 'RSET':
        return { allowed: keyword === 'RSET' ? ['ok'] : either };
      default:
        return { allowed: ['err'] };
    }
  }

  private login(): void {
    this.state = 'transaction';
  }
}

/** The exact POP3 greeting of the child: `+OK Mailroom POP3 ready <pid.time.n@host>` (RFC 1939 §7 APOP timestamp). */
export function pop3Greeting(pid: number, hostname: string): RegExp {
  return new RegExp(`^\\+OK Mailroom POP3 ready <${pid}\\.\\d+\\.\\d+@${hostname.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}>$`);
}

const READ_COMMANDS = ['STAT', 'LIST', 'LIST 1', 'UIDL', 'UIDL 2', 'RETR 1', 'RETR 3', 'TOP 1 0', 'TOP 2 5', 'NOOP', 'RSET', 'CAPA', 'LIST 999', 'RETR 0', 'TOP 1', 'XTND', 'STLS', 'USER x'];
const SCRATCH_COMMANDS = [...READ_COMMANDS, 'DELE 1', 'DELE 2', 'DELE 3', 'DELE 1000'];

function loginLines(rng: Rng, user: string, p: number): Buffer[] {
  switch (rng.int(0, 3)) {
    case 0:
      return [commandLine(rng, 'USER', [user], p), commandLine(rng, 'PASS', ['secret'], p)];
    case 1:
      return [commandLine(rng, 'APOP', [user, 'c4c9334bac560ecc979e58001b3e22fb'], p)];
    case 2:
      return [commandLine(rng, 'AUTH', ['PLAIN', Buffer.from(`\0${user}\0secret`).toString('base64')], p)];
    default:
      return [commandLine(rng, 'AUTH', ['PLAIN'], p), bytes(mutateArg(rng, Buffer.from(`\0${user}\0secret`).toString('base64'), p), '\r\n')];
  }
}

/** One POP3 case: a session of mutated commands, junk, over-long lines, HTTP, bursts or drops, checked against the model. */
export async function pop3Case(env: CaseEnv): Promise<void> {
  const { rng, target } = env;
  const model = new Pop3Model(pop3Greeting(target.pid, target.hostname));
  const conn = await FuzzConn.connect(target.ports.pop3);
  conn.observe(model);
  try {
    const kind = await openLineCase(env, model);
    if (kind === null) return;
    const scratch = rng.chance(0.25);
    const user = scratch ? SCRATCH : rng.chance(0.8) ? rng.pick(READERS) : `u${rng.int(0, 50)}`;
    const p = kind === 'session' ? 0.2 : 0.4;
    // A mutated scratch login could lose its "@" and see every message, the seeds too: scratch logins go out as they are.
    const login = scratch ? 0 : p;
    const lines: Buffer[] = [];
    const commands = scratch ? SCRATCH_COMMANDS : READ_COMMANDS;
    const someCommand = (): Buffer => {
      const [keyword, ...args] = rng.pick(commands).split(' ');
      return commandLine(rng, keyword!, args, p, [300, 600, 5000]);
    };
    switch (kind) {
      case 'session':
      case 'burst': {
        if (rng.chance(0.3)) lines.push(commandLine(rng, 'CAPA', [], p));
        if (rng.chance(0.9)) lines.push(...loginLines(rng, user, login));
        const n = kind === 'burst' ? rng.int(20, 150) : rng.int(1, 12);
        for (let i = 0; i < n; i++) lines.push(someCommand());
        if (rng.chance(0.8)) lines.push(utf8('QUIT\r\n'));
        break;
      }
      case 'junk':
        if (rng.chance(0.5)) lines.push(...loginLines(rng, user, login));
        for (let i = rng.int(1, 3); i > 0; i--) lines.push(junk(rng, rng.int(1, 400)));
        lines.push(utf8('\r\nQUIT\r\n'));
        break;
      case 'long': {
        if (rng.chance(0.5)) lines.push(...loginLines(rng, user, 0));
        const length = rng.pick([513, 600, 1024, 4096, 70_000]);
        lines.push(bytes(rng.pick(['USER ', 'LIST ', 'RETR ', 'X', '']), Buffer.alloc(length, rng.pick(['a', '1', ' ', '\0'])), rng.chance(0.8) ? '\r\n' : ''));
        lines.push(someCommand(), utf8('NOOP\r\n'));
        break;
      }
      case 'http':
        if (rng.chance(0.5)) lines.push(utf8(`POST / HTTP/1.1\r\nHost: 127.0.0.1:${target.ports.pop3}\r\nContent-Type: text/plain\r\nContent-Length: 30\r\n\r\nUSER ${SCRATCH}\r\nPASS x\r\nDELE 1\r\nQUIT\r\n`));
        else lines.push(utf8('CAPA\r\n'), utf8(rng.pick(['Host: 127.0.0.1\r\n', 'Content-Type: text/plain\r\n', 'Origin: http://evil.test\r\n'])), utf8('USER fuzzer\r\nPASS x\r\nSTAT\r\n'));
        break;
      case 'errors':
        for (let i = rng.int(9, 14); i > 0; i--) lines.push(rng.chance(0.5) ? utf8('BOGUS\r\n') : commandLine(rng, rng.pick(['RETR', 'XYZ', 'PASS', 'LIST']), ['x'], 0.5));
        lines.push(utf8('USER fuzzer\r\nPASS x\r\nSTAT\r\n'));
        break;
      case 'drop':
        if (rng.chance(0.5)) lines.push(...loginLines(rng, user, login));
        lines.push(rng.chance(0.5) ? utf8('RETR 1\r\n') : utf8('LIST'), junk(rng, rng.int(0, 30)));
        break;
    }
    await sendLineCase(env, model, conn, kind, lines);
    if (model.deleted > 0) env.tally('pop3 messages deleted', model.deleted);
  } finally {
    conn.drop();
  }
}

/** A client that pipelines RETR of the largest message and never reads: what it pins in the server must stay bounded. */
export async function pop3Pipeliner(port: number, message: number, count: number): Promise<FuzzConn> {
  const conn = await FuzzConn.connect(port);
  conn.neverRead();
  conn.write(`USER fuzzer\r\nPASS x\r\n${`RETR ${message}\r\n`.repeat(count)}`);
  return conn;
}
