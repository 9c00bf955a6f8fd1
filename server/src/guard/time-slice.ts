import { performance } from 'node:perf_hooks';

/**
 * How long one session may run commands back to back before it lets every
 * other connection go first. A client that pipelines commands and reads the
 * answers never congests its socket, and its commands chain through promise
 * callbacks, which never give way to I/O: without a break, a pipeline of
 * costly commands (SEARCH TEXT, LIST of a big maildrop) would stall the
 * whole process until it ran dry.
 */
const SLICE_MS = 10;

export class TimeSlice {
  private start = performance.now();

  get due(): boolean {
    return performance.now() - this.start >= SLICE_MS;
  }

  /** Lets the event loop serve everyone else, then starts a new slice. */
  async yield(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    this.start = performance.now();
  }
}
