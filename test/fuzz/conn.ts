import { AsyncLocalStorage } from 'node:async_hooks';
import { connect, type Socket } from 'node:net';

/** The case (protocol and number) an async context runs for, so that its connections can be found. */
export const currentCase = new AsyncLocalStorage<string>();

/** Bytes as a short, readable, JSON-escaped excerpt, with the total length when cut. */
export function show(bytes: Buffer | string, max = 240): string {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  const head = JSON.stringify(buf.subarray(0, max).toString('latin1'));
  return buf.length > max ? `${head}... (${buf.length} bytes)` : head;
}

/** What a protocol model is told about one connection. */
export interface Observer {
  /** Bytes the client wrote, in order. */
  sent(bytes: Buffer): void;
  /** Bytes the server sent, in order. */
  received(bytes: Buffer): void;
  /** The server ended or reset the connection. */
  serverClosed(): void;
}

/**
 * A raw TCP client for the fuzzer: it records everything it sends, hands
 * every byte in both directions to an observer (the protocol's model), and can
 * be dropped at any moment or never read from. It keeps its side open when
 * the server closes, as a hostile client may.
 */
export class FuzzConn {
  private readonly chunks: Buffer[] = [];
  private sentBytes = 0;
  /** The server's FIN or a reset arrived, or the socket is gone. */
  ended = false;
  /** This side destroyed the socket. */
  dropped = false;
  private observer: Observer | null = null;
  private early: Buffer[] = [];
  private readonly changes = new Changes();
  /** Connections still open, by the case that opened them. */
  static readonly open = new Map<FuzzConn, string | undefined>();

  private constructor(readonly socket: Socket) {
    FuzzConn.open.set(this, currentCase.getStore());
    socket.once('close', () => FuzzConn.open.delete(this));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      if (this.observer) this.observer.received(chunk);
      else this.early.push(chunk);
    });
    const end = (): void => {
      if (this.ended) return;
      this.ended = true;
      // A close this side caused says nothing about the server.
      if (!this.dropped) this.observer?.serverClosed();
      this.changes.notify();
    };
    socket.on('end', end);
    socket.once('close', end);
  }

  /** The connections cases opened and have not closed yet, with their case. */
  static byCase(): [string | undefined, FuzzConn][] {
    return [...FuzzConn.open].map(([conn, id]) => [id, conn]);
  }

  static connect(port: number, options: { localAddress?: string; timeoutMs?: number } = {}): Promise<FuzzConn> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', localAddress: options.localAddress, allowHalfOpen: true, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no TCP connection to port ${port} within ${options.timeoutMs ?? 5000} ms`));
      }, options.timeoutMs ?? 5000);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new FuzzConn(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** Attaches the model; bytes that came before are handed over first. */
  observe(observer: Observer): void {
    this.observer = observer;
    for (const chunk of this.early) observer.received(chunk);
    this.early = [];
    if (this.ended && !this.dropped) observer.serverClosed();
  }

  write(data: Buffer | string): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (this.dropped || this.socket.destroyed || !this.socket.writable || bytes.length === 0) return;
    this.chunks.push(bytes);
    this.sentBytes += bytes.length;
    this.observer?.sent(bytes);
    this.socket.write(bytes);
  }

  /** Stops reading: the server's replies pile up in the kernel and then in the server. */
  neverRead(): void {
    this.socket.pause();
  }

  drop(): void {
    this.dropped = true;
    this.socket.destroy();
  }

  /** Resolves true once the server closed, false after `ms`. */
  waitEnded(ms: number): Promise<boolean> {
    return this.changes.until(() => this.ended, ms);
  }

  get bytesSent(): number {
    return this.sentBytes;
  }

  /** What this client sent, for a problem report. */
  transcript(max = 400): string {
    return show(Buffer.concat(this.chunks), max);
  }

  /** The end of what this client sent, for naming the command a server hangs on. */
  lastSent(max = 160): string {
    const all = Buffer.concat(this.chunks);
    return show(all.subarray(Math.max(0, all.length - max)), max);
  }
}

/**
 * Lets async code wait for a condition over state that event handlers
 * change: whoever changes the state calls notify(), and each waiter checks
 * its predicate again.
 */
export class Changes {
  private waiters: { test: () => boolean; done: (ok: boolean) => void }[] = [];
  /** Every Changes with waiters, for halt(). */
  private static readonly waiting = new Set<Changes>();
  private static halted = false;

  /**
   * Ends every wait at once, and every later one at once too: once Mailroom
   * is broken, cases must wind down instead of waiting out their timeouts.
   */
  static halt(): void {
    Changes.halted = true;
    for (const changes of Changes.waiting) {
      for (const waiter of changes.waiters) waiter.done(waiter.test());
      changes.waiters = [];
    }
    Changes.waiting.clear();
  }

  notify(): void {
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.test()) return true;
      waiter.done(true);
      return false;
    });
    if (this.waiters.length === 0) Changes.waiting.delete(this);
  }

  /** Resolves true as soon as `test()` holds, false if it still does not after `ms`. */
  until(test: () => boolean, ms: number): Promise<boolean> {
    if (test() || Changes.halted) return Promise.resolve(test());
    return new Promise((resolve) => {
      const waiter = {
        test,
        done: (ok: boolean): void => {
          clearTimeout(timer);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        if (this.waiters.length === 0) Changes.waiting.delete(this);
        resolve(test());
      }, ms);
      this.waiters.push(waiter);
      Changes.waiting.add(this);
    });
  }
}
