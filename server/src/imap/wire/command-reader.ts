import { TimeSlice } from '../../guard/time-slice.js';
import type { WireLimits } from './limits.js';
import { isTag } from './parser.js';

const LF = 0x0a;
const CR = 0x0d;

/** What a command that could not be read in full gets: a tagged reply where a tag was readable. */
export interface ReadError {
  tag: string | null;
  /** RFC 5530 code, when one applies. */
  code: 'TOOBIG' | 'LIMIT' | null;
  text: string;
  /** NO for a refused synchronizing literal (the client stops there), BAD for a malformed command. */
  status: 'BAD' | 'NO';
}

export interface ReaderHandlers {
  /** A whole command: its lines with CRLF and its literals in place, as sent. May be async; reading waits. */
  command(bytes: Buffer): void | Promise<void>;
  /** In line mode (AUTHENTICATE, IDLE): one line, CRLF removed. */
  line(bytes: Buffer): void | Promise<void>;
  /** RFC 3501 §7.5: the client waits for this before sending a synchronizing literal. */
  continuation(): void;
  error(error: ReadError): void;
  /**
   * Octets of literal one command may carry in all, now: lets the session allow
   * an APPEND its message only once logged in. Without it, the limits decide.
   */
  literalBudget?(isAppend: boolean): number;
  /**
   * Takes a literal's octets from a budget shared with every other session
   * (messages being received); false when it is spent. What a command holds
   * is given back through `release` once the command has been read.
   */
  hold?(octets: number): boolean;
  release?(octets: number): void;
  /** Input is piling up behind a running command: stop reading the socket until `resume`. */
  pause?(): void;
  resume?(): void;
}

/** Input queued behind a running command before the socket is paused. */
const MAX_QUEUED = 1024 * 1024;


/** The longest tag an error is answered with. */
const MAX_TAG = 64;
/** Enough of a line's start to hold a tag and the space after it. */
const TAG_SCAN_BYTES = MAX_TAG + 16;
/** Enough of a line's end to hold `{4294967295+}` and its CRLF. */
const TAIL_BYTES = 32;
const EMPTY = Buffer.alloc(0);

/** `{123}` or `{123+}` closing a line (RFC 3501 §4.3, RFC 7888 §3). */
const LITERAL_AT_END = /\{(\d{1,20})(\+?)\}$/;

/**
 * Frames the client's byte stream into commands, the way smtp-server's stream
 * switches between command and data mode: lines are read up to CRLF; a line
 * ending in a literal announcement is followed by exactly that many octets
 * and then more of the same command. Only complete commands reach the
 * session, one at a time, so pipelined commands run in order.
 *
 * Sizes are checked before anything is kept: an over-long line is skipped to
 * its end, a refused synchronizing literal is never sent by a correct client,
 * and an over-large non-synchronizing one (RFC 7888 §4) is read and dropped.
 */
export class CommandReader {
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private paused = false;
  private busy = false;
  private closed = false;
  private mode: 'command' | 'line' = 'command';
  /** Pipelined commands run back to back only this long before others get a turn. */
  private readonly slice = new TimeSlice();

  /** The command being assembled. */
  private parts: Buffer[] = [];
  private partBytes = 0;
  private literalCount = 0;
  /** Literal octets announced so far by this command. */
  private literalBytes = 0;
  private tag: string | null = null;
  private isAppend = false;
  /** Literal octets this command took from the shared budget (`hold`). */
  private held = 0;
  /** Set when the command is already refused: it is read to its end and dropped. */
  private refused: ReadError | null = null;

  /** The current line, in pieces. */
  private line: Buffer[] = [];
  private lineBytes = 0;
  /** The line outgrew its limit: the rest of it is dropped. */
  private lineTooLong = false;
  /** The last octets of an over-long line. */
  private lineTail: Buffer = EMPTY;
  /** Octets of literal still to come, and whether they are kept. */
  private literalLeft = 0;

  constructor(
    private readonly limits: WireLimits,
    private readonly handlers: ReaderHandlers,
  ) {}

  push(chunk: Buffer): void {
    if (this.closed) return;
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    if (!this.busy) this.drain();
    if (this.busy && !this.paused && this.queuedBytes > MAX_QUEUED) {
      this.paused = true;
      this.handlers.pause?.();
    }
  }

  /** Line mode hands each line to `handlers.line` (IDLE's DONE, AUTHENTICATE's responses). */
  setMode(mode: 'command' | 'line'): void {
    this.mode = mode;
  }

  /** Drops buffered input: after STARTTLS nothing sent in clear may be taken as sent under TLS (RFC 3501 §6.2.1). */
  discardBuffered(): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.resetCommand();
    this.line = [];
    this.lineBytes = 0;
    this.lineTooLong = false;
    this.lineTail = EMPTY;
  }

  close(): void {
    this.closed = true;
    this.resetCommand();
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private drain(): void {
    while (!this.closed && !this.busy && this.queue.length > 0) {
      const chunk = this.queue[0]!;
      const used = this.consume(chunk);
      this.queuedBytes -= Math.min(used, chunk.length);
      if (used >= chunk.length) this.queue.shift();
      else this.queue[0] = chunk.subarray(used);
    }
    if (this.paused && !this.closed && this.queuedBytes <= MAX_QUEUED / 2) {
      this.paused = false;
      this.handlers.resume?.();
    }
  }

  /** Takes what it can of `chunk`; returns the octets used. Stops early when a handler goes async. */
  private consume(chunk: Buffer): number {
    let offset = 0;
    while (offset < chunk.length && !this.busy && !this.closed) {
      if (this.literalLeft > 0) {
        const take = Math.min(this.literalLeft, chunk.length - offset);
        if (this.refused === null) this.keep(chunk.subarray(offset, offset + take));
        this.literalLeft -= take;
        offset += take;
        continue;
      }
      const lf = chunk.indexOf(LF, offset);
      const end = lf < 0 ? chunk.length : lf + 1;
      this.addToLine(chunk.subarray(offset, end));
      offset = end;
      if (lf >= 0) this.endOfLine();
    }
    return offset;
  }

  private addToLine(piece: Buffer): void {
    if (this.lineTooLong) {
      this.keepTail(piece);
      return;
    }
    // The CRLF itself does not count against the limit.
    if (this.lineBytes + piece.length > this.limits.lineBytes + 2) {
      // The tag is read from the line's start, wherever the limit was crossed.
      if (this.parts.length === 0 && this.tag === null) this.tag = tagOf(Buffer.concat([...this.line, piece]).subarray(0, TAG_SCAN_BYTES));
      this.lineTooLong = true;
      this.line = [];
      this.keepTail(piece);
      return;
    }
    this.line.push(piece);
    this.lineBytes += piece.length;
  }

  /** The end of an over-long line, enough to see a literal it announces. */
  private keepTail(piece: Buffer): void {
    this.lineTail = Buffer.concat([this.lineTail, piece.subarray(-TAIL_BYTES)]).subarray(-TAIL_BYTES);
  }

  private endOfLine(): void {
    const line = this.line.length === 1 ? this.line[0]! : Buffer.concat(this.line);
    const tooLong = this.lineTooLong;
    const tail = this.lineTail;
    this.line = [];
    this.lineBytes = 0;
    this.lineTooLong = false;
    this.lineTail = EMPTY;

    if (this.mode === 'line' && this.parts.length === 0) {
      if (tooLong) return this.handlers.error({ tag: null, code: 'TOOBIG', status: 'BAD', text: 'Line too long' });
      return this.run(this.handlers.line(stripEol(line)));
    }
    if (tooLong) {
      const refusal: ReadError = this.refused ?? { tag: this.tag, code: 'TOOBIG', status: 'BAD', text: 'Command line too long' };
      const announced = LITERAL_AT_END.exec(stripEol(tail).toString('latin1'));
      if (announced !== null && announced[2] === '+') {
        // RFC 7888: a non-synchronizing literal follows anyway; it and the rest of the command are read and dropped.
        this.refused = refusal;
        this.literalLeft = Number(announced[1]);
        return;
      }
      // A synchronizing literal is never sent without a continuation, so the command ends here.
      this.resetCommand();
      return this.handlers.error(refusal);
    }
    if (this.parts.length === 0 && this.refused === null) {
      this.tag = tagOf(line);
      this.isAppend = /^\S+ APPEND /i.test(line.toString('latin1', 0, 64));
    }
    const text = stripEol(line).toString('latin1');
    const literal = LITERAL_AT_END.exec(text);
    if (this.refused === null) this.keep(line);
    if (literal === null) return this.finishCommand();

    const size = Number(literal[1]);
    const synchronizing = literal[2] !== '+';
    const max = this.handlers.literalBudget?.(this.isAppend) ?? (this.isAppend ? this.limits.appendBytes : this.limits.literalBytes);
    this.literalCount += 1;
    this.literalBytes += size;
    let refusal: ReadError | null = null;
    if (this.refused === null && (this.literalBytes > max || this.literalCount > this.limits.literals)) {
      const text =
        this.literalCount > this.limits.literals
          ? 'Too many literals'
          : size > max
            ? `Literal of ${size} octets is over the limit of ${max}`
            : `Literals of this command are over the limit of ${max} octets`;
      refusal = { tag: this.tag, code: 'TOOBIG', status: synchronizing ? 'NO' : 'BAD', text };
    } else if (this.refused === null && this.handlers.hold && !this.handlers.hold(size)) {
      // RFC 5530 §3: LIMIT, an implementation limit; another try may fit.
      refusal = { tag: this.tag, code: 'LIMIT', status: synchronizing ? 'NO' : 'BAD', text: 'Too much mail being received at once, try again later' };
    } else if (this.refused === null) {
      this.held += size;
    }
    if (refusal !== null) {
      this.refused = refusal;
      if (synchronizing) {
        // No continuation is sent, so a correct client sends neither the literal nor the rest of the command.
        this.resetCommand();
        return this.handlers.error(refusal);
      }
    }
    if (synchronizing && this.refused === null) this.handlers.continuation();
    this.literalLeft = size;
  }

  private keep(bytes: Buffer): void {
    // Copies, so the socket's chunk is not pinned by a small slice.
    this.parts.push(Buffer.from(bytes));
    this.partBytes += bytes.length;
  }

  private finishCommand(): void {
    const refused = this.refused;
    const bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partBytes);
    this.resetCommand();
    if (refused !== null) return this.handlers.error(refused);
    if (stripEol(bytes).length === 0) return; // Empty lines are ignored, as Dovecot does.
    this.run(this.handlers.command(bytes));
  }

  private resetCommand(): void {
    if (this.held > 0) this.handlers.release?.(this.held);
    this.held = 0;
    this.parts = [];
    this.partBytes = 0;
    this.literalCount = 0;
    this.literalBytes = 0;
    this.tag = null;
    this.isAppend = false;
    this.refused = null;
    this.literalLeft = 0;
  }

  private run(result: void | Promise<void>): void {
    if (!(result instanceof Promise)) return;
    this.busy = true;
    const next = (): void => {
      if (!this.slice.due) {
        this.busy = false;
        this.drain();
        return;
      }
      void this.slice.yield().then(() => {
        this.busy = false;
        this.drain();
      });
    };
    result.then(next, next);
  }
}

function stripEol(line: Buffer): Buffer {
  let end = line.length;
  if (end > 0 && line[end - 1] === LF) end -= 1;
  if (end > 0 && line[end - 1] === CR) end -= 1;
  return line.subarray(0, end);
}

/** The first word of a command line when it can be a tag (RFC 3501 §9: astring characters but `+`). */
function tagOf(line: Buffer): string | null {
  const space = line.indexOf(0x20);
  // A first word longer than this is not answered as a tag: cut short, it would be one the client never sent.
  if (space < 0 ? line.length > MAX_TAG : space > MAX_TAG) return null;
  const word = line.toString('latin1', 0, space < 0 ? line.length : space);
  return isTag(word) ? word : null;
}
