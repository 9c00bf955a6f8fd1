import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { LoginThrottle } from '../guard/login-throttle.js';
import type { MessageStore } from '../store/message-store.js';
import type { TlsMaterial } from '../tls.js';
import { COMMANDS } from './commands/registry.js';
import { CommandError, type Completion } from './commands/command.js';
import type { Account, Accounts } from './mailbox/account.js';
import { QuotaError } from './mailbox/quota.js';
import type { SelectedMailbox } from './selected.js';
import { CommandReader, type ReadError } from './wire/command-reader.js';
import type { WireLimits } from './wire/limits.js';
import { parseCommand, ParseError } from './wire/parser.js';
import type { ImapCommand } from './wire/types.js';

export interface ImapContext {
  store: MessageStore;
  logger: Logger;
  tls: TlsMaterial | null;
  /** User name to secret; null accepts any password. */
  credentials: ReadonlyMap<string, string> | null;
  accounts: Accounts;
  limits: WireLimits;
  /** RFC 3501 §5.4: at least 30 minutes. */
  idleMs: number;
  version: string;
  /** Slows password guessing by client address, shared by every protocol. */
  throttle: LoginThrottle;
}

/** RFC 3501 §3 states. */
export type SessionState =
  | { kind: 'notAuthenticated' }
  | { kind: 'authenticated'; user: string; account: Account }
  | { kind: 'selected'; user: string; account: Account; selected: SelectedMailbox }
  | { kind: 'logout' };

/** Enough for any user name and password sent as literals before login; nothing bigger is read then. */
const PRE_LOGIN_LITERAL_BYTES = 8 * 1024;
/** Dovecot's figure: a client this confused is gone or hostile. */
const MAX_BAD_IN_A_ROW = 20;
/** Written output waits for the socket past this much, so a huge FETCH streams instead of piling up in memory. */
const HIGH_WATER = 1024 * 1024;

/**
 * Commands that must not be answered with EXPUNGE responses (RFC 3501
 * §7.4.1): their replies use sequence numbers. SORT and THREAD (RFC 5256)
 * return sequence numbers just as SEARCH does. Their UID forms may.
 */
const NO_EXPUNGE = new Set(['FETCH', 'STORE', 'SEARCH', 'SORT', 'THREAD']);

/**
 * One IMAP connection: reads commands through the wire layer, checks each
 * against the state it needs, runs it, then reports what changed in the
 * selected mailbox before the tagged reply.
 */
export class ImapSession {
  state: SessionState = { kind: 'notAuthenticated' };
  secure: boolean;
  failedLogins = 0;
  private socket: Socket;
  private readonly reader: CommandReader;
  private badInARow = 0;
  private closed = false;
  /** A command left waiting for client lines (IDLE, AUTHENTICATE without an initial response). */
  private lineHandler: ((line: Buffer) => void) | null = null;

  constructor(
    socket: Socket,
    readonly ctx: ImapContext,
    secure: boolean,
  ) {
    this.socket = socket;
    this.secure = secure;
    this.reader = new CommandReader(ctx.limits, {
      command: (bytes) => this.onCommand(bytes),
      line: (bytes) => this.onLine(bytes),
      continuation: () => this.send('+ Ready for literal data'),
      error: (error) => this.onReadError(error),
      literalBudget: (isAppend) => this.literalBudget(isAppend),
      pause: () => this.socket.pause(),
      resume: () => this.socket.resume(),
    });
    this.attach(socket);
    socket.on('close', () => this.cleanup());
    this.send(`* OK [CAPABILITY ${this.capabilities().join(' ')}] Mailroom IMAP ready`);
  }

  /** RFC 3501 §7.2.1; what follows from what is implemented and configured. */
  capabilities(): string[] {
    const caps = ['IMAP4rev1', 'LITERAL+', 'SASL-IR', 'ID', 'ENABLE', 'IDLE', 'NAMESPACE', 'UNSELECT', 'UIDPLUS', 'MOVE', 'CHILDREN', 'SPECIAL-USE', 'ESEARCH', 'SORT', 'THREAD=ORDEREDSUBJECT', 'THREAD=REFERENCES'];
    if (this.state.kind === 'notAuthenticated') {
      if (this.ctx.tls && !this.secure) caps.push('STARTTLS');
      caps.push('AUTH=PLAIN');
    }
    return caps;
  }

  get selected(): SelectedMailbox | null {
    return this.state.kind === 'selected' ? this.state.selected : null;
  }

  send(line: string): void {
    if (!this.closed) this.socket.write(`${line}\r\n`, 'latin1');
  }

  /** Writes bytes; resolves when the socket can take more, so long responses stream. */
  async write(bytes: Buffer): Promise<void> {
    if (this.closed) return;
    this.socket.write(bytes);
    if (this.socket.writableLength > HIGH_WATER) {
      // What is held back for one write per command goes out now, or 'drain' would never come.
      this.uncork();
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.socket.off('drain', done).off('close', done);
          resolve();
        };
        this.socket.on('drain', done).on('close', done);
      });
      this.socket.cork();
    }
  }

  /** Leaves the selected state, closing the view; the mailbox itself is untouched. */
  deselect(): void {
    if (this.state.kind !== 'selected') return;
    this.state.selected.close();
    this.state = { kind: 'authenticated', user: this.state.user, account: this.state.account };
  }

  /** Hands further client lines to `handler` until `endLineMode()` (IDLE, AUTHENTICATE). */
  lineMode(handler: (line: Buffer) => void): void {
    this.lineHandler = handler;
    this.reader.setMode('line');
  }

  endLineMode(): void {
    this.lineHandler = null;
    this.reader.setMode('command');
  }

  /** Reports queued mailbox changes now (IDLE, and the end of each command). */
  flushUpdates(allowExpunge: boolean): void {
    const selected = this.selected;
    if (selected === null) return;
    for (const line of selected.flush(allowExpunge)) this.send(line);
  }

  /** Sends the tagged completion of a command that waited for client lines. */
  complete(tag: string, name: string, result: Completion | CommandError): void {
    if (result instanceof CommandError) {
      // Texts may echo what the client sent (a mailbox name); a line break there would forge responses.
      this.send(`${tag} ${result.status} ${result.code ? `[${result.code}] ` : ''}${result.message.replace(/[^\x20-\x7e]/g, '?')}`);
      return;
    }
    this.flushUpdates(!NO_EXPUNGE.has(name));
    this.send(`${tag} OK ${result.code ? `[${result.code}] ` : ''}${result.text ?? `${name} completed`}`);
  }

  logout(): void {
    this.send('* BYE Mailroom IMAP server logging out');
  }

  /** RFC 3501 §6.2.1: TLS starts right after the tagged OK; nothing read before it counts. */
  startTls(): void {
    const { tls } = this.ctx;
    if (!tls) return;
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.setTimeout(0);
    const secure = new TLSSocket(plain, { isServer: true, key: tls.key, cert: tls.cert });
    this.socket = secure;
    this.secure = true;
    this.reader.discardBuffered();
    this.attach(secure);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.close();
    this.socket.end();
    this.cleanup();
  }

  private attach(socket: Socket): void {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.reader.push(chunk));
    socket.on('error', () => undefined);
    socket.setTimeout(this.ctx.idleMs, () => {
      this.send('* BYE Autologout; idle for too long');
      this.close();
    });
  }

  private cleanup(): void {
    this.closed = true;
    this.reader.close();
    if (this.state.kind === 'selected') this.state.selected.close();
    if (this.state.kind === 'authenticated' || this.state.kind === 'selected') this.ctx.accounts.release(this.state.account);
    this.state = { kind: 'logout' };
  }

  /**
   * Literal octets one command may carry: a little before login (a password),
   * a message's worth for APPEND once logged in, otherwise the wire limit.
   */
  private literalBudget(isAppend: boolean): number {
    const { limits } = this.ctx;
    if (this.state.kind === 'notAuthenticated') return PRE_LOGIN_LITERAL_BYTES;
    return isAppend ? limits.appendBytes : limits.literalBytes;
  }

  /** A line for a command that waits on the client (IDLE, AUTHENTICATE); a bug there must not take the process down. */
  private onLine(bytes: Buffer): void {
    try {
      this.lineHandler?.(bytes);
    } catch (error) {
      this.ctx.logger.error({ err: error }, 'IMAP line handler failed');
      this.endLineMode();
      this.send('* NO [SERVERBUG] Internal error');
    }
  }

  private onReadError(error: ReadError): void {
    const code = error.code ? `[${error.code}] ` : '';
    this.send(`${error.tag ?? '*'} ${error.status} ${code}${error.text}`);
    this.countBad();
  }

  private countBad(): void {
    if (++this.badInARow < MAX_BAD_IN_A_ROW) return;
    this.send('* BYE Too many invalid IMAP commands');
    this.close();
  }

  /**
   * A command's responses leave in as few packets as possible: corked while
   * it runs, released at its end. Small untagged lines followed by the tagged
   * one would otherwise meet the client's delayed ACK and wait ~40 ms.
   */
  private async onCommand(bytes: Buffer): Promise<void> {
    this.socket.cork();
    try {
      await this.runCommand(bytes);
    } finally {
      this.uncork();
    }
  }

  private uncork(): void {
    while (this.socket.writableCorked > 0) this.socket.uncork();
  }

  private async runCommand(bytes: Buffer): Promise<void> {
    let command: ImapCommand;
    try {
      command = parseCommand(bytes, this.ctx.limits);
    } catch (error) {
      if (!(error instanceof ParseError)) {
        this.ctx.logger.error({ err: error }, 'IMAP parser failed');
        this.send('* NO [SERVERBUG] Internal error');
        return;
      }
      this.send(`${error.tag ?? '*'} BAD ${error.message}`);
      return this.countBad();
    }
    let name = command.name;
    let uid = false;
    if (name === 'UID') {
      const sub = command.args[0];
      name = sub?.type === 'atom' ? sub.value.toUpperCase() : '';
      uid = true;
      command = { ...command, args: command.args.slice(1) };
    }
    const spec = COMMANDS.get(name);
    const { tag } = command;
    if (spec === undefined || (uid && !spec.uid)) {
      this.send(`${tag} BAD Unknown command ${uid ? 'UID ' : ''}${name}`.trimEnd());
      return this.countBad();
    }
    if (!spec.states.includes(this.state.kind)) {
      this.send(`${tag} BAD ${name} is not allowed ${stateText(this.state.kind, spec.states)}`);
      return this.countBad();
    }
    try {
      const result = await spec.handle(this, command, uid);
      this.badInARow = 0;
      if (result === 'pending' || this.closed) return;
      this.complete(tag, uid ? `UID ${name}` : name, result ?? {});
      if (result?.after) {
        // The tagged OK must be on the wire before STARTTLS's handshake or LOGOUT's close.
        this.uncork();
        result.after();
      }
    } catch (error) {
      if (error instanceof QuotaError) return this.complete(tag, name, new CommandError('NO', error.message, 'OVERQUOTA'));
      if (!(error instanceof CommandError)) {
        this.ctx.logger.error({ err: error, command: name }, 'IMAP command failed');
        this.send(`${tag} NO [SERVERBUG] Internal error`);
        return;
      }
      this.complete(tag, name, error);
      if (error.status === 'BAD') this.countBad();
      else this.badInARow = 0;
    }
  }
}

/** Why a command does not fit the state, in the words a user would look for. */
function stateText(kind: SessionState['kind'], allowed: readonly SessionState['kind'][]): string {
  if (kind !== 'notAuthenticated' && allowed.length === 1 && allowed[0] === 'notAuthenticated') return 'after logging in';
  switch (kind) {
    case 'notAuthenticated':
      return 'before logging in';
    case 'authenticated':
      return 'without a selected mailbox';
    case 'selected':
      return 'with a mailbox selected';
    default:
      return 'now';
  }
}
