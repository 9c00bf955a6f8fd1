import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { isHttpHeaderLine, isHttpRequestLine } from '../guard/http-probe.js';
import type { IngestBudget } from '../guard/ingest-budget.js';
import type { LoginThrottle } from '../guard/login-throttle.js';
import { printable } from '../guard/printable.js';
import { congested, drained } from '../guard/output.js';
import { StoreWriteError, type Store } from '../store/store.js';
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
  store: Store;
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
  /** Literal octets being received, shared with SMTP's messages in flight. */
  ingest: IngestBudget;
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
/** Enough of a command's first line to tell an HTTP request or header line from an IMAP command. */
const PROBE_BYTES = 256;
/** A command's reply lines are handed to the socket in pieces of about this size: a write per line costs more than the line. */
const BATCH_CHARS = 16 * 1024;

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
  /** Whether the client has sent a line yet: an HTTP request line is caught only as the first. */
  private heard = false;
  /** A command left waiting for client lines (IDLE, AUTHENTICATE without an initial response). */
  private lineHandler: ((line: Buffer) => void | Promise<void>) | null = null;
  /** The latest task waiting for the client to read what it has been sent (see `whenWritable`). */
  private deferred: (() => void) | null = null;
  /** Reply lines of the running command not handed to the socket yet. */
  private text = '';

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
      hold: (octets) => ctx.ingest.take(octets),
      release: (octets) => ctx.ingest.release(octets),
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

  /** The client's address, for the login throttle. */
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  /** Gone: long replies stop writing. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Writes a line, gathered with the rest of the running command's; for short replies (see `writeLine` for long ones). */
  send(line: string): void {
    if (this.closed) return;
    this.text += `${line}\r\n`;
    if (this.text.length >= BATCH_CHARS || this.socket.writableCorked === 0) this.flushText();
  }

  private flushText(): void {
    if (this.text === '') return;
    this.socket.write(this.text, 'latin1');
    this.text = '';
  }

  /** One line of a long reply: resolves once the client has read enough, so the reply streams. */
  writeLine(line: string): Promise<void> {
    this.send(line);
    return this.paced();
  }

  /** Bytes of a long reply, in order; resolves once the client has read enough. */
  write(bytes: Buffer | readonly Buffer[]): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.flushText();
    if (Buffer.isBuffer(bytes)) this.socket.write(bytes);
    else for (const chunk of bytes) this.socket.write(chunk);
    return this.paced();
  }

  /**
   * Past the high-water mark of unsent output, waits for the socket to
   * drain. What is corked for one write per command goes out first, or
   * 'drain' would never come; the cork is back for the rest of the command.
   */
  private async paced(): Promise<void> {
    if (this.closed || !congested(this.socket)) return;
    const corked = this.socket.writableCorked > 0;
    this.uncork();
    await drained(this.socket);
    if (corked && !this.closed) this.socket.cork();
  }

  /**
   * Runs `task` soon, but only once the client has read what it was sent,
   * so that reports made outside any command (IDLE's) cannot pile up unread.
   * Only the latest task runs: each reports everything pending.
   */
  whenWritable(task: () => void): void {
    const scheduled = this.deferred !== null;
    this.deferred = task;
    if (scheduled) return;
    queueMicrotask(async () => {
      if (congested(this.socket)) await drained(this.socket);
      const run = this.deferred;
      this.deferred = null;
      if (!this.closed) run?.();
    });
  }

  /** Leaves the selected state, closing the view; the mailbox itself is untouched. */
  deselect(): void {
    if (this.state.kind !== 'selected') return;
    this.state.selected.close();
    this.state = { kind: 'authenticated', user: this.state.user, account: this.state.account };
  }

  /** Hands further client lines to `handler` until `endLineMode()` (IDLE, AUTHENTICATE); reading waits on a promise it returns. */
  lineMode(handler: (line: Buffer) => void | Promise<void>): void {
    this.lineHandler = handler;
    this.reader.setMode('line');
  }

  endLineMode(): void {
    this.lineHandler = null;
    this.reader.setMode('command');
  }

  /**
   * Reports queued mailbox changes now (IDLE, and the end of each command),
   * in one write: what is queued is bounded by the mailbox, and the next
   * command waits for the client to read it.
   */
  flushUpdates(allowExpunge: boolean): void {
    const selected = this.selected;
    if (selected === null) return;
    const lines = selected.flush(allowExpunge);
    if (lines.length > 0) this.send(lines.join('\r\n'));
  }

  /** Sends the tagged completion of a command that waited for client lines. */
  complete(tag: string, name: string, result: Completion | CommandError): void {
    if (result instanceof CommandError) {
      // As Dovecot: the EXPUNGE behind the refusal comes first, where it may.
      if (result.code === 'EXPUNGEISSUED') this.flushUpdates(!NO_EXPUNGE.has(name));
      // Texts may echo what the client sent (a mailbox name); a line break there would forge responses.
      this.send(`${tag} ${result.status} ${result.code ? `[${result.code}] ` : ''}${printable(result.message)}`);
      result.after?.();
      return;
    }
    this.flushUpdates(!NO_EXPUNGE.has(name));
    this.send(`${tag} OK ${result.code ? `[${result.code}] ` : ''}${result.text ?? `${name} completed`}`);
  }

  logout(): void {
    // RFC 3501 §6.1.3: BYE, then the tagged OK; changes still queued for the view are not worth sending after BYE.
    this.deselect();
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
    this.flushText();
    this.socket.end();
    this.cleanup();
  }

  private attach(socket: Socket): void {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.reader.push(chunk));
    socket.on('error', () => undefined);
    // Writes stuck behind a client that does not read are no activity, so this fires then too.
    socket.setTimeout(this.ctx.idleMs, () => {
      if (this.closed || socket.writableLength > 0) {
        // Output unread all this time will not be read, nor would a BYE behind it: drop the connection.
        drop(socket);
        this.cleanup();
        return;
      }
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
  private onLine(bytes: Buffer): void | Promise<void> {
    this.heard = true;
    try {
      const result = this.lineHandler?.(bytes);
      if (result instanceof Promise) return result.catch((error: unknown) => this.lineFailed(error));
    } catch (error) {
      this.lineFailed(error);
    }
  }

  private lineFailed(error: unknown): void {
    this.ctx.logger.error({ err: error }, 'IMAP line handler failed');
    this.endLineMode();
    this.send('* NO [SERVERBUG] Internal error');
  }

  private onReadError(error: ReadError): void {
    this.heard = true;
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
    if (this.isHttp(bytes)) {
      // Nothing the request carries may run: a page's fetch() body could hold IMAP commands.
      this.send('* BYE This port speaks IMAP, not HTTP');
      this.close();
      return;
    }
    this.socket.cork();
    try {
      await this.runCommand(bytes);
    } finally {
      this.uncork();
    }
    // A client that does not read its replies gets no further command run until it does.
    if (!this.closed && congested(this.socket)) await drained(this.socket);
  }

  /** An HTTP request line as the first line, or a header line before login (see guard/http-probe.ts). */
  private isHttp(bytes: Buffer): boolean {
    const first = !this.heard;
    this.heard = true;
    if (this.state.kind !== 'notAuthenticated') return false;
    const eol = bytes.indexOf(0x0a);
    const line = bytes.toString('latin1', 0, Math.min(eol < 0 ? bytes.length : eol, PROBE_BYTES)).replace(/\r$/, '');
    return (first && isHttpRequestLine(line)) || isHttpHeaderLine(line);
  }

  private uncork(): void {
    this.flushText();
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
      this.send(`${error.tag ?? '*'} BAD ${printable(error.message)}`);
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
      this.send(`${tag} BAD Unknown command ${uid ? 'UID ' : ''}${printable(name)}`.trimEnd());
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
      if (error instanceof StoreWriteError) {
        this.ctx.logger.error({ err: error.cause, command: name }, 'an IMAP change could not be written to the data directory');
        // RFC 5530 §3: a subsystem (here the disk) failed; the client may try again.
        return this.complete(tag, name, new CommandError('NO', error.full ? 'The data directory is full' : 'The change could not be written to disk', 'UNAVAILABLE'));
      }
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

/**
 * Ends a connection whose client has stopped reading: a reset, since a FIN
 * would wait behind the unread output and the kernel would keep it all.
 * TLS sockets have no TCP handle of their own to reset.
 */
function drop(socket: Socket): void {
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
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
