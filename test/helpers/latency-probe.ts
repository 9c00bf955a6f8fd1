import { performance } from 'node:perf_hooks';
import type { Mailroom } from 'mailroom-catcher';

export interface Probed<T> {
  result: T;
  /** Milliseconds the action took. */
  ms: number;
  /** The longest any health request waited for its answer while the action ran. */
  maxLatency: number;
  /** Health requests answered while the action ran. */
  probes: number;
}

/**
 * Runs `action` while asking `GET /api/health` every few milliseconds, one request at a time:
 * work that holds up Mailroom's event loop shows as one long wait.
 */
export async function whileProbing<T>(mailroom: Mailroom, action: () => Promise<T>): Promise<Probed<T>> {
  // A first request opens the connection that the probes reuse.
  await (await fetch(`${mailroom.apiUrl}/api/health`)).arrayBuffer();
  let running = true;
  let maxLatency = 0;
  let probes = 0;
  const probe = (async () => {
    while (running) {
      const sent = performance.now();
      await (await fetch(`${mailroom.apiUrl}/api/health`)).arrayBuffer();
      maxLatency = Math.max(maxLatency, performance.now() - sent);
      probes += 1;
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
  })();
  const started = performance.now();
  let result: T;
  let ms: number;
  try {
    result = await action();
    ms = performance.now() - started;
  } finally {
    running = false;
    // The probe in flight may be the one the action held up.
    await probe;
  }
  return { result, ms, maxLatency, probes };
}
