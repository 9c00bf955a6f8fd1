import { Worker } from 'node:worker_threads';
import { compilePattern, PATTERN_TIMEOUT_MS, PatternError } from './codes.js';
import type { PatternAnswer, PatternJob } from './pattern-worker.js';

/** Jobs waiting for the thread at most; each holds up to 64 Ki characters of text. */
const MAX_QUEUED = 64;

/** Too many patterns are waiting; the caller may try again shortly. */
export class PatternQueueFullError extends Error {}

interface Pending extends PatternJob {
  resolve(codes: string[]): void;
  reject(error: Error): void;
}

/**
 * Runs callers' code patterns on a worker thread, one at a time, and gives up on one after
 * PATTERN_TIMEOUT_MS by ending the thread. RE2 never backtracks, but collecting every match of a
 * pattern such as `a.*b|a` still rescans the text once per match (quadratic), and a large
 * program costs its size per character: neither may hold up SMTP, IMAP, POP3 or HTTP.
 */
export class PatternRunner {
  private worker: Worker | null = null;
  private ready = false;
  private readonly queue: Pending[] = [];
  private running: Pending | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  /** Codes in `text` for `pattern`; a PatternError when the pattern is invalid or runs too long. */
  find(text: string, pattern: string): Promise<string[]> {
    // Invalid patterns are answered here, without a round trip to the thread.
    compilePattern(pattern);
    if (this.closed) return Promise.reject(new Error('The pattern runner is closed'));
    if (this.queue.length >= MAX_QUEUED) return Promise.reject(new PatternQueueFullError(`${MAX_QUEUED} patterns are already waiting; try again shortly`));
    return new Promise((resolve, reject) => {
      this.queue.push({ text, pattern, resolve, reject });
      this.next();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('The pattern runner is closed'));
    this.finish()?.reject(new Error('The pattern runner is closed'));
    await this.stop();
  }

  private next(): void {
    if (this.running !== null || this.queue.length === 0) return;
    if (this.worker === null) this.start();
    if (!this.ready) return;
    const job = this.queue.shift()!;
    this.running = job;
    this.timer = setTimeout(() => {
      this.finish()?.reject(new PatternError(`pattern ran longer than ${PATTERN_TIMEOUT_MS} ms on this message; make it simpler`));
      void this.stop();
      this.next();
    }, PATTERN_TIMEOUT_MS);
    this.worker!.postMessage({ text: job.text, pattern: job.pattern } satisfies PatternJob);
  }

  private start(): void {
    const worker = new Worker(new URL('./pattern-worker.js', import.meta.url));
    // Mailroom's close() ends it; until then it must not keep a process alive that is otherwise done.
    worker.unref();
    this.worker = worker;
    this.ready = false;
    worker.on('message', (message: 'ready' | PatternAnswer) => {
      if (worker !== this.worker) return;
      if (message === 'ready') {
        this.ready = true;
      } else {
        const job = this.finish();
        if ('codes' in message) job?.resolve(message.codes);
        else job?.reject(message.invalid ? new PatternError(message.error) : new Error(message.error));
      }
      this.next();
    });
    worker.on('error', (error) => {
      if (worker !== this.worker) return;
      this.worker = null;
      this.finish()?.reject(error);
      for (const job of this.queue.splice(0)) job.reject(error);
    });
    worker.on('exit', () => {
      if (worker === this.worker) this.worker = null;
    });
  }

  /** Takes the running job off, with its timer. */
  private finish(): Pending | null {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const job = this.running;
    this.running = null;
    return job;
  }

  private async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.ready = false;
    if (worker !== null) await worker.terminate();
  }
}
