import { performance } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';
import type { BenchMessage } from './messages.js';

/**
 * A socket.io client standing in for an open web inbox: it notes when the
 * new-message event of each tracked message arrives, found by its unique
 * subject (the event can overtake the 250 that carries the id). Mailroom
 * and MailDev both send a summary with the subject, under different names.
 */
export class LiveWatcher {
  private bySubject = new Map<string, number>();
  private seenAt = new Float64Array(0);
  private seen = 0;
  private onProgress: (() => void) | null = null;

  private constructor(
    private readonly socket: Socket,
    event: string,
  ) {
    socket.on(event, (summary: { subject?: string }) => {
      const index = this.bySubject.get(summary.subject ?? '');
      if (index === undefined || this.seenAt[index] !== 0) return;
      this.seenAt[index] = performance.now();
      this.seen += 1;
      this.onProgress?.();
    });
  }

  static connect(url: string, event: string, timeoutMs: number): Promise<LiveWatcher> {
    const socket = io(url, { transports: ['websocket'], reconnection: false, timeout: timeoutMs });
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(new LiveWatcher(socket, event)));
      socket.once('connect_error', (error) => {
        socket.close();
        reject(new Error(`socket.io connection to ${url} failed: ${error.message}`));
      });
    });
  }

  /** Starts watching for these messages, forgetting earlier ones; returns arrival times by index. */
  track(messages: readonly BenchMessage[]): Float64Array {
    this.bySubject = new Map(messages.map((m, i) => [m.subject, i]));
    this.seenAt = new Float64Array(messages.length);
    this.seen = 0;
    return this.seenAt;
  }

  /** Resolves once every tracked message has had its event. */
  waitForAll(timeoutMs: number): Promise<void> {
    if (this.seen === this.seenAt.length) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.onProgress = null;
        reject(new Error(`only ${this.seen} of ${this.seenAt.length} new-message events arrived within ${timeoutMs} ms`));
      }, timeoutMs);
      this.onProgress = () => {
        if (this.seen < this.seenAt.length) return;
        clearTimeout(timer);
        this.onProgress = null;
        resolve();
      };
    });
  }

  close(): void {
    this.socket.close();
  }
}
