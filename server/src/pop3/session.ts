import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { MessageStore } from '../store/message-store.js';
import type { LoginThrottle } from '../guard/login-throttle.js';
import type { TlsMaterial } from '../tls.js';
import { visibleTo } from '../store/mailbox-rule.js';
import { Maildrop, wireBytes } from './maildrop.js';
import { LineReader } from './line-reader.js';

/** Longer lines are not read at all; they are answered once and dropped. */
const MAX_LINE = 512;
/** RFC 2449 §4: a command's arguments take at most 255 octets. */
const MAX_ARGUMENTS = 255;
/** Consecutive errors after which a client is taken to be lost or hostile. */
const MAX_ERRORS = 10;

export interface Pop3Context {
  store: MessageStore;
  logger: Logger;
  tls: TlsMaterial | null;
  /** User name to secret; null accepts any password. */
  credentials: ReadonlyMap<string, string> | null;
  /** Maildrops in TRANSACTION state, by lower-case user name (RFC 1939 §8). */
  locks: Set<string>;
  idleMs: number;
  hostname: string;
  /** Slows password guessing by client address, shared by every protocol. */
  throttle: LoginThrottle;
}

/** The three states of RFC 1939 §3, each with what it knows. */
type State =
  | { kind: 'authorization'; user: string | null; saslPlain: boolean }
  | { kind: 'transaction'; user: string; lock: string; drop: Maildrop }
  | { kind: 'update' };

let timestampCounter = 0;

/**
 * One POP3 connection: a line reader feeding a state machine. Every reply is
 * written synchronously, so pipelined commands (RFC 2449 PIPELINING) are
 * answered in order.
 */
export class Pop3Session {
  private state: State = { kind: 'authorization', user: null, saslPlain: false };
  private readonly reader = new LineReader(MAX_LINE, (line) => {
    this.onLine(line);
    return !this.closed;
  });
  private errors = 0;
  private closed = false;
  private readonly timestamp: string;

  constructor(
    private socket: Socket,
    private readonly ctx: Pop3Context,
    private secure: boolean,
  ) {
    // RFC 1939 §7: the APOP timestamp is unique to this greeting.
    this.timestamp = `<${process.pid}.${Date.now()}.${++timestampCounter}@${ctx.hostname}>`;
    this.attach(socket);
    socket.setTimeout(ctx.idleMs, () => {
      // RFC 1939 §3: an autologout does not enter UPDATE, so nothing is deleted.
      this.send('-ERR Autologout: idle for too long');
      this.end();
    });
    socket.on('close', () => this.release());
    socket.on('error', () => undefined);
    this.send(`+OK Mailroom POP3 ready ${this.timestamp}`);
  }

  private attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => this.reader.push(chunk));
  }

  private send(line: string): void {
    if (!this.closed) this.socket.write(`${line}\r\n`);
  }

  private ok(text: string): void {
    this.errors = 0;
    this.send(`+OK ${text}`);
  }

  private err(text: string): void {
    this.send(`-ERR ${text}`);
    if (++this.errors >= MAX_ERRORS) {
      this.send('-ERR Too many errors, closing the connection');
      this.end();
    }
  }

  private end(): void {
    this.release();
    this.socket.end();
    this.closed = true;
  }

  private release(): void {
    if (this.state.kind === 'transaction') this.ctx.locks.delete(this.state.lock);
  }

  private onLine(line: string | null): void {
    if (line === null) return this.err('Line too long');
    if (this.state.kind === 'authorization' && this.state.saslPlain) return this.finishPlain(line);
    const space = line.indexOf(' ');
    if (space >= 0 && Buffer.byteLength(line) - space - 1 > MAX_ARGUMENTS) return this.err('Arguments longer than 255 octets');
    const keyword = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const args = space < 0 ? [] : line.slice(space + 1).split(' ');
    if (!/^[A-Z]{3,4}$/.test(keyword)) return this.err('Unknown command');
    if (keyword === 'CAPA') return this.capa();
    if (keyword === 'QUIT') return this.quit();
    if (keyword === 'NOOP' && this.state.kind === 'transaction') return this.ok('');
    if (this.state.kind === 'authorization') return this.authorization(keyword, args);
    if (this.state.kind === 'transaction') return this.transaction(this.state, keyword, args);
  }

  private capa(): void {
    const lines = ['TOP', 'UIDL', 'USER', 'SASL PLAIN', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'EXPIRE NEVER', 'IMPLEMENTATION Mailroom'];
    if (this.ctx.tls && !this.secure && this.state.kind === 'authorization') lines.push('STLS');
    this.ok('Capability list follows');
    this.send(`${lines.join('\r\n')}\r\n.`);
  }

  private quit(): void {
    if (this.state.kind !== 'transaction') {
      this.ok('Mailroom POP3 signing off');
      return this.end();
    }
    const { drop } = this.state;
    const marked = drop.entries.filter((e) => e.deleted).map((e) => e.message.id);
    this.release();
    this.state = { kind: 'update' };
    // RFC 1939 §6: the marked messages leave the maildrop now, and only now.
    const removed = this.ctx.store.delete(marked);
    this.ok(`Mailroom POP3 signing off (${removed.length} message${removed.length === 1 ? '' : 's'} deleted)`);
    this.socket.end();
    this.closed = true;
  }

  private authorization(keyword: string, args: string[]): void {
    const state = this.state as Extract<State, { kind: 'authorization' }>;
    switch (keyword) {
      case 'USER':
        if (args.length !== 1 || args[0] === '') return this.err('USER needs one name');
        state.user = args[0]!;
        return this.ok(`Hello ${state.user}, send PASS`);
      case 'PASS':
        if (state.user === null) return this.err('Send USER first');
        return this.login(state.user, (secret) => secret === args.join(' '));
      case 'APOP': {
        if (args.length !== 2) return this.err('APOP needs a name and a digest');
        const [name, digest] = args as [string, string];
        return this.login(name, (secret) => createHash('md5').update(this.timestamp + secret).digest('hex') === digest.toLowerCase());
      }
      case 'AUTH':
        return this.auth(args);
      case 'STLS':
        return this.startTls();
      default:
        return this.err(['STAT', 'LIST', 'RETR', 'DELE', 'NOOP', 'RSET', 'TOP', 'UIDL'].includes(keyword) ? 'Not logged in yet' : 'Unknown command');
    }
  }

  private auth(args: string[]): void {
    if (args.length === 0) {
      this.ok('SASL mechanisms follow');
      return this.send('PLAIN\r\n.');
    }
    if (args[0]!.toUpperCase() !== 'PLAIN') return this.err('Only SASL PLAIN is supported');
    if (args.length === 1) {
      (this.state as Extract<State, { kind: 'authorization' }>).saslPlain = true;
      return this.send('+ ');
    }
    return this.plain(args[1]!);
  }

  private finishPlain(line: string): void {
    (this.state as Extract<State, { kind: 'authorization' }>).saslPlain = false;
    if (line === '*') return this.err('Authentication cancelled');
    this.plain(line);
  }

  /** RFC 4616: authzid NUL authcid NUL passwd, base64 (RFC 5034 §4). */
  private plain(encoded: string): void {
    const parts = Buffer.from(encoded, 'base64').toString('utf8').split('\0');
    if (parts.length !== 3 || parts[1] === '') return this.err('[AUTH] Malformed PLAIN credentials');
    const [, user, password] = parts as [string, string, string];
    this.login(user, (secret) => secret === password);
  }

  private login(user: string, check: (secret: string) => boolean): void {
    const { credentials } = this.ctx;
    if (credentials !== null) {
      const secret = credentials.get(user);
      if (secret === undefined || !check(secret)) {
        (this.state as Extract<State, { kind: 'authorization' }>).user = null;
        return this.err('[AUTH] Invalid user name or password');
      }
    }
    const lock = user.toLowerCase();
    if (this.ctx.locks.has(lock)) return this.err('[IN-USE] Maildrop already locked by another session');
    this.ctx.locks.add(lock);
    const drop = new Maildrop(visibleTo(user, this.ctx.store.all()));
    this.state = { kind: 'transaction', user, lock, drop };
    const octets = drop.entries.reduce((sum, e) => sum + e.size, 0);
    this.ok(`${user} has ${drop.entries.length} message${drop.entries.length === 1 ? '' : 's'} (${octets} octets)`);
  }

  private startTls(): void {
    const { tls } = this.ctx;
    if (!tls || this.secure) return this.err(this.secure ? 'TLS is already on' : 'TLS is not configured');
    this.ok('Begin TLS negotiation');
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.setTimeout(0);
    const secure = new TLSSocket(plain, { isServer: true, key: tls.key, cert: tls.cert });
    secure.on('error', () => undefined);
    secure.setTimeout(this.ctx.idleMs, () => {
      this.send('-ERR Autologout: idle for too long');
      this.end();
    });
    this.socket = secure;
    this.secure = true;
    // RFC 2595 §4: anything the client pipelined before the handshake is discarded.
    this.reader.reset();
    this.attach(secure);
  }

  private transaction(state: Extract<State, { kind: 'transaction' }>, keyword: string, args: string[]): void {
    const { drop } = state;
    switch (keyword) {
      case 'STAT': {
        const live = drop.live();
        return this.ok(`${live.length} ${live.reduce((sum, { entry }) => sum + entry.size, 0)}`);
      }
      case 'LIST':
      case 'UIDL': {
        const value = (entry: { size: number; message: { id: string } }): string =>
          keyword === 'LIST' ? String(entry.size) : entry.message.id;
        if (args.length > 0) {
          const entry = drop.get(args[0]);
          return typeof entry === 'string' ? this.err(entry) : this.ok(`${args[0]} ${value(entry)}`);
        }
        const live = drop.live();
        this.ok(keyword === 'LIST' ? `${live.length} messages` : 'Unique ids follow');
        return this.send([...live.map(({ number, entry }) => `${number} ${value(entry)}`), '.'].join('\r\n'));
      }
      case 'RETR':
      case 'TOP': {
        const entry = drop.get(args[0]);
        if (typeof entry === 'string') return this.err(entry);
        let lines: number | null = null;
        if (keyword === 'TOP') {
          if (args.length !== 2 || !/^\d{1,9}$/.test(args[1]!)) return this.err('TOP needs a message number and a line count');
          lines = Number(args[1]);
        }
        const bytes = wireBytes(entry.message.raw);
        this.ok(keyword === 'RETR' ? `${entry.size} octets` : 'Top of message follows');
        return this.sendMultiline(lines === null ? bytes : top(bytes, lines));
      }
      case 'DELE': {
        const entry = drop.get(args[0]);
        if (typeof entry === 'string') return this.err(entry);
        entry.deleted = true;
        return this.ok(`Message ${args[0]} deleted`);
      }
      case 'RSET':
        for (const entry of drop.entries) entry.deleted = false;
        return this.ok(`${drop.entries.length} messages`);
      case 'USER':
      case 'PASS':
      case 'APOP':
      case 'AUTH':
      case 'STLS':
        return this.err('Already logged in');
      default:
        return this.err('Unknown command');
    }
  }

  /** A multi-line body: byte-stuffed (RFC 1939 §3), CRLF-terminated, then the lone dot. */
  private sendMultiline(bytes: Buffer): void {
    const chunks: Buffer[] = [];
    let start = 0;
    if (bytes[0] === 0x2e) chunks.push(DOT);
    for (let i = bytes.indexOf(LF_DOT); i >= 0; i = bytes.indexOf(LF_DOT, i + 1)) {
      chunks.push(bytes.subarray(start, i + 1), DOT);
      start = i + 1;
    }
    chunks.push(bytes.subarray(start));
    if (bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) chunks.push(CRLF);
    chunks.push(END);
    this.errors = 0;
    this.socket.write(Buffer.concat(chunks));
  }
}

const DOT = Buffer.from('.');
const LF_DOT = Buffer.from('\n.');
const CRLF = Buffer.from('\r\n');
const END = Buffer.from('.\r\n');

/** The header, the empty line and the first `lines` lines of the body (RFC 1939 §7 TOP). */
function top(bytes: Buffer, lines: number): Buffer {
  const blank = bytes.indexOf('\r\n\r\n');
  if (blank < 0) return bytes;
  let end = blank + 4;
  for (let n = 0; n < lines && end < bytes.length; n++) {
    const eol = bytes.indexOf(0x0a, end);
    end = eol < 0 ? bytes.length : eol + 1;
  }
  return bytes.subarray(0, end);
}
