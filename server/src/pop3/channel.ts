import type { Socket } from 'node:net';
import { congested, drained } from '../guard/output.js';
import { TimeSlice } from '../guard/time-slice.js';
import { LineReader } from './line-reader.js';

/**
 * Reply text is gathered up to this size before it goes to the socket, so
 * pipelined commands cost one write rather than one each, and a flood of
 * short replies to a client that does not read queues as a few large chunks:
 * the socket's bookkeeping for each queued chunk costs far more than a
 * six-byte "+OK \r\n".
 */
const TEXT_BATCH = 16 * 1024;

/**
 * What handling a command line leaves to do: nothing (the reply is out), a
 * promise (a throttled login), or an iterator that writes a long reply one
 * piece per step.
 */
export type Outcome = void | Promise<void> | Iterator<unknown>;

/**
 * The two directions of a POP2 or POP3 connection: command lines in, replies out.
 *
 * Lines are handled one at a time, each reply complete before the next line
 * is looked at, so pipelined commands (RFC 2449 PIPELINING) are answered in
 * order. Past OUTPUT_HIGH_WATER of unsent output, a long reply waits for the
 * socket to drain between pieces and no further line is handled; while
 * anything waits, the socket is paused, so lines the client sent meanwhile
 * stay in the kernel. A client that never reads thus pins about
 * OUTPUT_HIGH_WATER, one piece and what it had sent before the pause.
 */
export class CommandChannel {
  private readonly reader: LineReader;
  /** Reply text not yet handed to the socket. */
  private text = '';
  private running = false;
  private paused = false;
  private corked: Socket | null = null;
  private ended = false;
  /** The client has sent its FIN: what it sent before is still answered, then the connection ends. */
  private inputEnded = false;
  private readonly onData = (chunk: Buffer): void => {
    // Once the session has ended, what the client still sends is read only to be dropped.
    if (this.closed) return;
    this.reader.push(chunk);
    if (this.running) this.pause();
    else this.pump();
  };
  private readonly onEnd = (): void => {
    this.inputEnded = true;
    if (!this.running) this.pump();
  };

  constructor(
    private current: Socket,
    maxLine: number,
    private readonly handle: (line: string | null) => Outcome,
    private readonly onFailure: (error: unknown) => void,
  ) {
    this.reader = new LineReader(maxLine);
    this.listen(current);
  }

  /** Ended by the session, or gone. */
  get closed(): boolean {
    return this.ended || this.current.destroyed || this.current.writableEnded;
  }

  /** One reply line; CRLF is added. */
  send(line: string): void {
    if (this.closed) return;
    this.text += `${line}\r\n`;
    if (!this.running || this.text.length >= TEXT_BATCH) this.flush();
  }

  /** Bytes of a message, after any reply text before them. */
  write(bytes: Buffer): void {
    if (this.closed) return;
    this.flush();
    this.cork();
    this.current.write(bytes);
  }

  /** Sends what is pending and closes once it has gone out. */
  end(): void {
    if (this.closed) return;
    this.flush();
    this.uncork();
    this.ended = true;
    this.current.end();
  }

  /**
   * The idle logout: a farewell and a close; but a client with replies still
   * unsent is not reading, so no farewell would reach it and a graceful close
   * would wait on it for ever: it is cut off.
   */
  logout(farewell: string): void {
    if (this.closed || this.current.writableLength > 0) {
      this.current.destroy();
      return;
    }
    this.send(farewell);
    this.end();
  }

  /** Stops reading from the socket (STLS): pending replies go out first and buffered input is dropped (RFC 2595 §4). */
  detach(): Socket {
    this.flush();
    this.uncork();
    const socket = this.current;
    socket.off('data', this.onData).off('end', this.onEnd);
    if (this.paused) socket.resume();
    this.paused = false;
    this.reader.reset();
    return socket;
  }

  /** Reads and writes over `socket` from now on (the TLS socket after STLS). */
  attach(socket: Socket): void {
    this.current = socket;
    this.listen(socket);
  }

  private listen(socket: Socket): void {
    // Node would end the socket on the client's FIN, cutting off the answers
    // to lines that were waiting their turn; the channel ends it itself.
    socket.allowHalfOpen = true;
    socket.on('data', this.onData).on('end', this.onEnd);
  }

  private pump(): void {
    this.run().catch((error: unknown) => {
      this.current.destroy();
      this.onFailure(error);
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    const slice = new TimeSlice();
    try {
      let reply: Iterator<unknown> | null = null;
      while (!this.closed) {
        if (reply !== null) {
          if (reply.next().done === true) reply = null;
        } else {
          const line = this.reader.next();
          if (line === undefined) {
            if (this.inputEnded) this.end();
            break;
          }
          const outcome = this.handle(line);
          if (outcome instanceof Promise) {
            this.hold();
            await outcome;
            continue;
          }
          if (outcome) reply = outcome;
        }
        if (congested(this.current)) {
          this.hold();
          await drained(this.current);
        } else if (slice.due) {
          this.hold();
          await slice.yield();
        }
      }
    } finally {
      this.running = false;
      this.flush();
      this.uncork();
    }
    if (this.paused) {
      this.paused = false;
      this.current.resume();
    }
  }

  /** Before waiting: everything pending goes out, and nothing more is read. */
  private hold(): void {
    this.flush();
    this.uncork();
    this.pause();
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.current.pause();
  }

  private flush(): void {
    if (this.text === '') return;
    const text = this.text;
    this.text = '';
    if (this.current.destroyed || this.current.writableEnded) return;
    this.cork();
    this.current.write(text);
  }

  /** While lines are being handled, writes gather into one writev. */
  private cork(): void {
    if (!this.running || this.corked !== null) return;
    this.corked = this.current;
    this.corked.cork();
  }

  private uncork(): void {
    if (this.corked === null) return;
    const socket = this.corked;
    this.corked = null;
    socket.uncork();
  }
}
