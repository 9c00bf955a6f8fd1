import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { LoginThrottle } from '../guard/login-throttle.js';
import { isHttpHeaderLine, isHttpRequestLine } from '../guard/http-probe.js';
import { printable } from '../guard/printable.js';
import type { TlsMaterial } from '../tls.js';
import { visibleTo } from '../store/mailbox-rule.js';
import { CommandChannel, type Outcome } from './channel.js';
import { Maildrop } from './maildrop.js';
import { topEnd, wirePieces } from './wire-pieces.js';

/** Longer lines are not read at all; they are answered once and dropped. */
const MAX_LINE = 512;
/** RFC 2449 §4: a command's arguments take at most 255 octets. */
const MAX_ARGUMENTS = 255;
/** Consecutive errors after which a client is taken to be lost or hostile. */
const MAX_ERRORS = 10;
/** LIST and UIDL lines written between two checks of the socket's backlog: about 10 KiB of UIDL. */
const LISTING_BATCH = 512;

export interface Pop3Context {
  store: Store;
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
  | { kind: 'transaction'; user: string; drop: Maildrop }
  | { kind: 'update' };

type Authorization = Extract<State, { kind: 'authorization' }>;

let timestampCounter = 0;

/**
 * One POP3 connection: a command channel feeding a state machine. The
 * channel answers pipelined commands (RFC 2449 PIPELINING) in order and
 * holds back while the client is not reading.
 */
export class Pop3Session {
  private state: State = { kind: 'authorization', user: null, saslPlain: false };
  private readonly io: CommandChannel;
  private errors = 0;
  private linesSeen = 0;
  /** The maildrop lock this session holds, until released. */
  private lock: string | null = null;
  private secure: boolean;
  private readonly address: string | undefined;
  private readonly timestamp: string;

  constructor(
    socket: Socket,
    private readonly ctx: Pop3Context,
    secure: boolean,
  ) {
    this.secure = secure;
    this.address = socket.remoteAddress;
    // RFC 1939 §7: the APOP timestamp is unique to this greeting.
    this.timestamp = `<${process.pid}.${Date.now()}.${++timestampCounter}@${ctx.hostname}>`;
    this.io = new CommandChannel(socket, MAX_LINE, (line) => this.onLine(line), (error) => {
      ctx.logger.error({ err: error }, 'POP3 session failed');
      this.release();
    });
    this.watchIdle(socket);
    socket.on('close', () => this.release());
    socket.on('error', () => undefined);
    this.send(`+OK Mailroom POP3 ready ${this.timestamp}`);
  }

  private watchIdle(socket: Socket): void {
    socket.setTimeout(this.ctx.idleMs, () => {
      // RFC 1939 §3: an autologout does not enter UPDATE, so nothing is deleted.
      this.release();
      this.io.logout('-ERR Autologout: idle for too long');
    });
  }

  private send(line: string): void {
    this.io.send(line);
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
    this.io.end();
  }

  private release(): void {
    if (this.lock === null) return;
    this.ctx.locks.delete(this.lock);
    this.lock = null;
  }

  private onLine(line: string | null): Outcome {
    const first = this.linesSeen++ === 0;
    if (line === null) return this.err('Line too long');
    // A browser's request to this port (guard/http-probe.ts): nothing it carries may run.
    if (this.state.kind === 'authorization' && ((first && isHttpRequestLine(line)) || isHttpHeaderLine(line))) {
      this.send('-ERR HTTP request refused: this is a POP3 server');
      return this.end();
    }
    if (this.state.kind === 'authorization' && this.state.saslPlain) return this.finishPlain(this.state, line);
    const space = line.indexOf(' ');
    if (space >= 0 && Buffer.byteLength(line) - space - 1 > MAX_ARGUMENTS) return this.err('Arguments longer than 255 octets');
    const keyword = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const args = space < 0 ? [] : line.slice(space + 1).split(' ');
    if (!/^[A-Z]{3,4}$/.test(keyword)) return this.err('Unknown command');
    if (keyword === 'CAPA') return this.capa();
    if (keyword === 'QUIT') return this.quit();
    if (keyword === 'NOOP' && this.state.kind === 'transaction') return this.ok('');
    if (this.state.kind === 'authorization') return this.authorization(this.state, keyword, args);
    if (this.state.kind === 'transaction') return this.transaction(this.state, keyword, args);
  }

  private capa(): void {
    const lines = ['TOP', 'UIDL', 'USER', 'SASL PLAIN', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'EXPIRE NEVER', 'IMPLEMENTATION Mailroom'];
    if (this.ctx.tls && !this.secure && this.state.kind === 'authorization') lines.push('STLS');
    this.ok('Capability list follows');
    for (const line of lines) this.send(line);
    this.send('.');
  }

  private async quit(): Promise<void> {
    if (this.state.kind !== 'transaction') {
      this.ok('Mailroom POP3 signing off');
      return this.end();
    }
    const marked = this.state.drop.marked();
    this.release();
    this.state = { kind: 'update' };
    // RFC 1939 §6: the marked messages leave the maildrop now, and only now; the reply waits until that is on disk.
    try {
      const removed = await this.ctx.store.delete(marked);
      this.ok(`Mailroom POP3 signing off (${removed.length} message${removed.length === 1 ? '' : 's'} deleted)`);
    } catch (error) {
      this.ctx.logger.error({ err: error }, 'POP3 deletions could not be written');
      this.err('Some deleted messages not removed');
    }
    this.io.end();
  }

  private authorization(state: Authorization, keyword: string, args: string[]): Outcome {
    switch (keyword) {
      case 'USER':
        if (args.length !== 1 || args[0] === '') return this.err('USER needs one name');
        state.user = args[0]!;
        return this.ok(`Hello ${printable(state.user)}, send PASS`);
      case 'PASS':
        if (state.user === null) return this.err('Send USER first');
        return this.login(state, state.user, (secret) => secret === args.join(' '));
      case 'APOP': {
        if (args.length !== 2) return this.err('APOP needs a name and a digest');
        const [name, digest] = args as [string, string];
        return this.login(state, name, (secret) => createHash('md5').update(this.timestamp + secret).digest('hex') === digest.toLowerCase());
      }
      case 'AUTH':
        return this.auth(state, args);
      case 'STLS':
        return this.startTls();
      default:
        return this.err(['STAT', 'LIST', 'RETR', 'DELE', 'NOOP', 'RSET', 'TOP', 'UIDL'].includes(keyword) ? 'Not logged in yet' : 'Unknown command');
    }
  }

  private auth(state: Authorization, args: string[]): Outcome {
    if (args.length === 0) {
      this.ok('SASL mechanisms follow');
      this.send('PLAIN');
      return this.send('.');
    }
    if (args[0]!.toUpperCase() !== 'PLAIN') return this.err('Only SASL PLAIN is supported');
    if (args.length === 1) {
      state.saslPlain = true;
      return this.send('+ ');
    }
    return this.plain(state, args[1]!);
  }

  private finishPlain(state: Authorization, line: string): Outcome {
    state.saslPlain = false;
    if (line === '*') return this.err('Authentication cancelled');
    return this.plain(state, line);
  }

  /** RFC 4616: authzid NUL authcid NUL passwd, base64 (RFC 5034 §4). */
  private plain(state: Authorization, encoded: string): Outcome {
    const parts = Buffer.from(encoded, 'base64').toString('utf8').split('\0');
    if (parts.length !== 3 || parts[1] === '') return this.err('[AUTH] Malformed PLAIN credentials');
    const [, user, password] = parts as [string, string, string];
    return this.login(state, user, (secret) => secret === password);
  }

  /** Without --pop3-auth every login succeeds, so there is no guess to slow down. */
  private login(state: Authorization, user: string, check: (secret: string) => boolean): Outcome {
    if (this.ctx.credentials === null) return this.open(user);
    return this.checkedLogin(state, this.ctx.credentials, user, check);
  }

  /** Waits its turn at the throttle; meanwhile the channel handles nothing else from this client. */
  private async checkedLogin(state: Authorization, credentials: ReadonlyMap<string, string>, user: string, check: (secret: string) => boolean): Promise<void> {
    await this.ctx.throttle.admit(this.address);
    if (this.io.closed) return;
    const secret = credentials.get(user);
    if (secret === undefined || !check(secret)) {
      this.ctx.throttle.failed(this.address);
      state.user = null;
      return this.err('[AUTH] Invalid user name or password');
    }
    this.open(user);
  }

  private open(user: string): void {
    const lock = user.toLowerCase();
    if (this.ctx.locks.has(lock)) return this.err('[IN-USE] Maildrop already locked by another session');
    this.ctx.locks.add(lock);
    this.lock = lock;
    const drop = new Maildrop(visibleTo(user, this.ctx.store.all()));
    this.state = { kind: 'transaction', user, drop };
    this.ok(`${printable(user)} has ${drop.count} message${drop.count === 1 ? '' : 's'} (${drop.liveSize} octets)`);
  }

  private startTls(): void {
    const { tls } = this.ctx;
    if (!tls || this.secure) return this.err(this.secure ? 'TLS is already on' : 'TLS is not configured');
    this.ok('Begin TLS negotiation');
    // RFC 2595 §4: anything the client pipelined before the handshake is discarded.
    const plain = this.io.detach();
    plain.setTimeout(0);
    const secure = new TLSSocket(plain, { isServer: true, key: tls.key, cert: tls.cert });
    secure.on('error', () => undefined);
    this.watchIdle(secure);
    this.secure = true;
    this.io.attach(secure);
  }

  private transaction(state: Extract<State, { kind: 'transaction' }>, keyword: string, args: string[]): Outcome {
    const { drop } = state;
    switch (keyword) {
      case 'STAT':
        return this.ok(`${drop.live} ${drop.liveSize}`);
      case 'LIST':
      case 'UIDL': {
        const value = (index: number): string => (keyword === 'LIST' ? String(drop.size(index)) : drop.id(index));
        if (args.length > 0) {
          const index = drop.find(args[0]);
          return typeof index === 'string' ? this.err(index) : this.ok(`${args[0]} ${value(index)}`);
        }
        this.ok(keyword === 'LIST' ? `${drop.live} messages` : 'Unique ids follow');
        return this.listing(drop, value);
      }
      case 'RETR':
      case 'TOP': {
        const index = drop.find(args[0]);
        if (typeof index === 'string') return this.err(index);
        let lines: number | null = null;
        if (keyword === 'TOP') {
          if (args.length !== 2 || !/^\d{1,9}$/.test(args[1]!)) return this.err('TOP needs a message number and a line count');
          lines = Number(args[1]);
        }
        // The maildrop keeps its numbering (RFC 1939 §4), but the bytes may have left the store since login.
        const message = this.ctx.store.get(drop.id(index));
        if (message === undefined) return this.err(`Message ${args[0]} is gone: deleted or evicted since login`);
        const { raw } = message;
        this.ok(keyword === 'RETR' ? `${drop.size(index)} octets` : 'Top of message follows');
        return this.multiline(raw, lines === null ? raw.length : topEnd(raw, lines), drop.size(index) !== raw.length);
      }
      case 'DELE': {
        const index = drop.find(args[0]);
        if (typeof index === 'string') return this.err(index);
        drop.mark(index);
        return this.ok(`Message ${args[0]} deleted`);
      }
      case 'RSET':
        drop.unmarkAll();
        return this.ok(`${drop.count} messages`);
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

  /** The "n value" lines of LIST or UIDL for every message not marked, then the lone dot. */
  private *listing(drop: Maildrop, value: (index: number) => string): Generator<void, void, unknown> {
    for (let i = 0, written = 0; i < drop.count; i++) {
      if (drop.deleted(i)) continue;
      this.send(`${i + 1} ${value(i)}`);
      if (++written % LISTING_BATCH === 0) yield;
    }
    this.send('.');
  }

  /**
   * A message or its top: byte-stuffed (RFC 1939 §3), with CRLF line ends
   * when the stored bytes have bare LFs, CRLF-terminated, then the lone dot.
   */
  private *multiline(raw: Buffer, end: number, convert: boolean): Generator<void, void, unknown> {
    for (const pieces of wirePieces(raw, end, convert, true)) {
      for (const piece of pieces) this.io.write(piece);
      yield;
    }
    if (end > 0 && raw[end - 1] !== 0x0a) this.send('');
    this.send('.');
  }
}
