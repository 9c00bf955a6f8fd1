import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { isHttpHeaderLine, isHttpRequestLine } from '../guard/http-probe.js';
import type { LoginThrottle } from '../guard/login-throttle.js';
import { CommandChannel, type Outcome } from '../pop3/channel.js';
import { Maildrop } from '../pop3/maildrop.js';
import { wirePieces } from '../pop3/wire-pieces.js';
import { visibleTo } from '../store/mailbox-rule.js';
import type { Store } from '../store/store.js';

/** Command lines are short (a keyword, a user name and a password); longer ones are refused. */
const MAX_LINE = 512;
/** Consecutive errors after which a client is taken to be lost or hostile, as in POP3. */
const MAX_ERRORS = 10;
/** RFC 937: the default mailbox, selected by HELO. The only folder Mailroom has. */
const INBOX = 'INBOX';

export interface Pop2Context {
  store: Store;
  logger: Logger;
  /** User name to secret; null accepts any password. The `--pop3-auth` logins. */
  credentials: ReadonlyMap<string, string> | null;
  /** Maildrops in use, by lower-case user name; shared with POP3 so the two never serve one at once. */
  locks: Set<string>;
  idleMs: number;
  hostname: string;
  /** Slows password guessing by client address, shared by every protocol. */
  throttle: LoginThrottle;
}

/** What a logged-in session holds: the INBOX snapshot taken at HELO and the selected folder. */
interface Mailbox {
  user: string;
  lock: string;
  /** INBOX, numbered 1..n until the folder is left; ACKD only marks entries (see ack()). */
  inbox: Maildrop;
  /** The selected folder: INBOX, or another name, which is empty here. */
  folder: string;
}

/**
 * The server states of RFC 937 ("Server States"), with the client state each
 * one answers to in parentheses:
 * - AUTH (CALL): greeting sent, waiting for HELO.
 * - MBOX (NMBR): a folder is selected and its count `#n` sent; READ, FOLD or QUIT.
 * - ITEM (SIZE): READ/ACKS/ACKD/NACK sent a length `=n` for message `number`;
 *   RETR may fetch it when that length is not zero, or READ/FOLD/QUIT move on.
 * - NEXT (XFER): the message was sent; ACKS, ACKD or NACK must follow (or QUIT).
 * - DONE (EXIT): QUIT answered, or the connection is ending.
 */
type State =
  | { kind: 'auth' }
  | { kind: 'mbox'; box: Mailbox; current: number }
  | { kind: 'item'; box: Mailbox; number: number; size: number }
  | { kind: 'next'; box: Mailbox; number: number }
  | { kind: 'done' };

/**
 * One POP2 connection (RFC 937): a command channel (pop3/channel.ts, which
 * answers in order and holds back while the client is not reading) feeding
 * the state machine. Replies are `+`/`-` for greeting, QUIT and errors, `#n`
 * for a message count and `=n` for a message length; a message goes out as
 * exactly that many octets with no terminator and no byte-stuffing.
 */
export class Pop2Session {
  private state: State = { kind: 'auth' };
  private readonly io: CommandChannel;
  private errors = 0;
  private linesSeen = 0;
  private readonly address: string | undefined;

  constructor(
    socket: Socket,
    private readonly ctx: Pop2Context,
  ) {
    this.address = socket.remoteAddress;
    this.io = new CommandChannel(socket, MAX_LINE, (line) => this.onLine(line), (error) => {
      ctx.logger.error({ err: error }, 'POP2 session failed');
      this.release();
    });
    socket.setTimeout(ctx.idleMs, () => {
      // Like POP3's autologout: the session ends without QUIT, so nothing is deleted.
      this.release();
      this.io.logout('- Autologout: idle for too long');
    });
    socket.on('close', () => this.release());
    socket.on('error', () => undefined);
    this.send(`+ POP2 ${ctx.hostname} Mailroom server ready`);
  }

  private send(line: string): void {
    this.io.send(line);
  }

  private reply(line: string): void {
    this.errors = 0;
    this.send(line);
  }

  private err(text: string): void {
    this.send(`- ${text}`);
    if (++this.errors >= MAX_ERRORS) {
      this.send('- Too many errors, closing the connection');
      this.end();
    }
  }

  private end(): void {
    this.release();
    this.io.end();
  }

  /** Gives up the maildrop lock, once: the session is done. */
  private release(): void {
    const box = this.mailbox();
    if (box) this.ctx.locks.delete(box.lock);
    this.state = { kind: 'done' };
  }

  private mailbox(): Mailbox | null {
    return this.state.kind === 'auth' || this.state.kind === 'done' ? null : this.state.box;
  }

  private onLine(line: string | null): Outcome {
    const first = this.linesSeen++ === 0;
    if (line === null) return this.err('Line too long');
    // A browser's request to this port (guard/http-probe.ts): nothing it carries may run.
    if (this.state.kind === 'auth' && ((first && isHttpRequestLine(line)) || isHttpHeaderLine(line))) {
      this.send('- HTTP request refused: this is a POP2 server');
      return this.end();
    }
    const words = line.split(' ').filter((w) => w !== '');
    const keyword = (words[0] ?? '').toUpperCase();
    const args = words.slice(1);
    switch (keyword) {
      case 'HELO':
        return this.helo(args);
      case 'FOLD':
        return this.fold(args);
      case 'READ':
        return this.read(args);
      case 'RETR':
        return this.retr(args);
      case 'ACKS':
      case 'ACKD':
      case 'NACK':
        return this.ack(keyword, args);
      case 'QUIT':
        return this.quit(args);
      default:
        return this.err(keyword === '' ? 'Empty command' : 'Unknown command');
    }
  }

  /** HELO user password: logs in and selects INBOX; the reply is its message count. */
  private helo(args: string[]): Outcome {
    if (this.state.kind !== 'auth') return this.err('Already logged in');
    if (args.length !== 2) return this.err('HELO needs a user name and a password');
    const [user, password] = args as [string, string];
    // Without --pop3-auth every login succeeds, so there is no guess to slow down.
    if (this.ctx.credentials === null) return this.open(user);
    return this.checkedLogin(this.ctx.credentials, user, password);
  }

  /** Waits its turn at the throttle; meanwhile the channel handles nothing else from this client. */
  private async checkedLogin(credentials: ReadonlyMap<string, string>, user: string, password: string): Promise<void> {
    await this.ctx.throttle.admit(this.address);
    if (this.io.closed) return;
    if (credentials.get(user) !== password) {
      this.ctx.throttle.failed(this.address);
      return this.err('Invalid user name or password');
    }
    this.open(user);
  }

  private open(user: string): void {
    const lock = user.toLowerCase();
    if (this.ctx.locks.has(lock)) return this.err('Maildrop already locked by another session');
    this.ctx.locks.add(lock);
    const inbox = new Maildrop(visibleTo(user, this.ctx.store.all()));
    this.state = { kind: 'mbox', box: { user, lock, inbox, folder: INBOX }, current: 1 };
    this.reply(`#${inbox.count}`);
  }

  /**
   * FOLD name: selects a folder, replying with its count. Mailroom has only
   * INBOX (any case); any other folder is empty, `#0`, as RFC 937 answers
   * for a folder with no messages. Leaving a folder closes it, as in the
   * RFC 937 implementations that rewrite the folder when it is closed: its
   * ACKD marks are carried out and INBOX is numbered afresh when selected again.
   */
  private async fold(args: string[]): Promise<void> {
    if (this.state.kind === 'auth') return this.err('Not logged in yet');
    if (this.state.kind === 'next') return this.err('Send ACKS, ACKD or NACK first');
    if (this.state.kind === 'done') return;
    if (args.length !== 1) return this.err('FOLD needs one folder name');
    const box = this.state.box;
    await this.expungeMarked(box);
    box.folder = args[0]!.toUpperCase() === INBOX ? INBOX : args[0]!;
    if (box.folder === INBOX) box.inbox = new Maildrop(visibleTo(box.user, this.ctx.store.all()));
    this.state = { kind: 'mbox', box, current: 1 };
    this.reply(`#${this.count(box)}`);
  }

  /** READ [n]: the length of message n, or of the current one; `=0` when there is none. */
  private read(args: string[]): void {
    if (this.state.kind === 'auth') return this.err('Not logged in yet');
    if (this.state.kind === 'next') return this.err('Send ACKS, ACKD or NACK first');
    if (this.state.kind === 'done') return;
    let number = this.state.kind === 'mbox' ? this.state.current : this.state.number;
    if (args.length > 1) return this.err('READ takes at most one message number');
    if (args.length === 1) {
      if (!/^\d{1,9}$/.test(args[0]!) || Number(args[0]) === 0) return this.err('Invalid message number');
      number = Number(args[0]);
    }
    this.announce(this.state.box, number);
  }

  /**
   * RETR: the message READ announced, as exactly that many octets (CRLF line
   * ends, no dot-stuffing), read from the store now. RFC 937 gives RETR no
   * reply but the octets, so if the message has left the store since READ
   * announced it, no answer could be told from message text: the server
   * says why and closes, and the client, short of octets, sees the failure.
   * (READ itself answers `=0` for such a message, as for any it cannot send.)
   */
  private retr(args: string[]): Outcome {
    if (this.state.kind === 'auth') return this.err('Not logged in yet');
    if (this.state.kind === 'next') return this.err('Send ACKS, ACKD or NACK first');
    if (this.state.kind === 'mbox') return this.err('Send READ first');
    if (this.state.kind === 'done') return;
    if (args.length > 0) return this.err('RETR takes no argument');
    const { box, number, size } = this.state;
    const index = this.entry(box, number);
    if (size === 0 || index === null) return this.err('No message to retrieve');
    const message = this.ctx.store.get(box.inbox.id(index));
    if (message === undefined) {
      this.send(`- Message ${number} is gone: deleted or evicted since READ`);
      return this.end();
    }
    this.state = { kind: 'next', box, number };
    this.errors = 0;
    return this.octets(message.raw, size !== message.raw.length);
  }

  private *octets(raw: Buffer, convert: boolean): Generator<void, void, unknown> {
    for (const pieces of wirePieces(raw, raw.length, convert, false)) {
      for (const piece of pieces) this.io.write(piece);
      yield;
    }
  }

  /**
   * ACKS, ACKD and NACK answer a RETR. ACKS keeps the message and announces
   * the next; NACK keeps it and announces the same one again.
   *
   * ACKD (RFC 937, "Commands" and the "Server States" NEXT transitions)
   * acknowledges and deletes the message, then announces the next. Numbers
   * must not shift within a session, so, as in RFC 937 implementations and
   * POP3's UPDATE (RFC 1939 §6), ACKD only marks the message: a later READ
   * of it gives `=0`, and it leaves the store when the folder is closed by
   * FOLD or QUIT — never on a dropped connection or an autologout.
   */
  private ack(keyword: 'ACKS' | 'ACKD' | 'NACK', args: string[]): void {
    if (this.state.kind === 'auth') return this.err('Not logged in yet');
    if (this.state.kind !== 'next') return this.err('No message was retrieved');
    if (args.length > 0) return this.err(`${keyword} takes no argument`);
    const { box, number } = this.state;
    if (keyword === 'ACKD') {
      const index = this.entry(box, number);
      if (index !== null) box.inbox.mark(index);
    }
    this.announce(box, keyword === 'NACK' ? number : number + 1);
  }

  /** QUIT: carries out ACKD's deletions, answers `+` and closes. */
  private async quit(args: string[]): Promise<void> {
    if (args.length > 0) return this.err('QUIT takes no argument');
    const box = this.mailbox();
    if (box) await this.expungeMarked(box);
    this.send(`+ POP2 ${this.ctx.hostname} signing off`);
    this.end();
  }

  /** Removes the messages ACKD marked from the store. */
  private async expungeMarked(box: Mailbox): Promise<void> {
    const marked = box.inbox.marked();
    // Marks stay on the old snapshot: deleting them again (QUIT after FOLD elsewhere) finds nothing.
    try {
      const removed = (await this.ctx.store.delete(marked)).length;
      if (removed > 0) this.ctx.logger.debug({ removed }, 'POP2 session deleted messages');
    } catch (error) {
      // RFC 937 has no reply that could say so; the log does.
      this.ctx.logger.error({ err: error }, 'POP2 deletions could not be written');
    }
  }

  /**
   * Enters ITEM for message `number`, replying with its length: 0 when there
   * is no such message, it is marked deleted, or it has left the store since
   * HELO (the count `#n` stays, as the numbering does).
   */
  private announce(box: Mailbox, number: number): void {
    const index = this.entry(box, number);
    const size = index !== null && this.ctx.store.get(box.inbox.id(index)) !== undefined ? box.inbox.size(index) : 0;
    this.state = { kind: 'item', box, number, size };
    this.reply(`=${size}`);
  }

  private count(box: Mailbox): number {
    return box.folder === INBOX ? box.inbox.count : 0;
  }

  /** The snapshot index of message `number` of the selected folder, if it is there and not marked. */
  private entry(box: Mailbox, number: number): number | null {
    if (box.folder !== INBOX || number < 1 || number > box.inbox.count || box.inbox.deleted(number - 1)) return null;
    return number - 1;
  }
}
