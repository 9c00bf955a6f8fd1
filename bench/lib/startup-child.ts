import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { openMaildir } from '../../server/src/store/maildir/open-maildir.js';
import { MessageStore } from '../../server/src/store/message-store.js';
import { CHILD_MAX_MESSAGES, CHILD_MAX_STORE_GIB } from './child-protocol.js';
import type { StartupMessage } from './startup-load.js';

/*
 * Loads the data directory given as the only argument the way Mailroom's
 * start does (server/src/mailroom.ts openStore), in a fresh process as a real
 * start would be, and reports the time of each step. Started by
 * bench/lib/startup-load.ts; it stops when the parent disconnects or dies.
 */

process.once('disconnect', () => process.exit(0));

const send = (message: StartupMessage): void => {
  process.send?.(message, () => process.disconnect());
};

async function main(dir: string): Promise<void> {
  // Warnings (files skipped) go to stderr, beside the report rather than in it.
  const logger = pino({ name: 'mailroom', level: 'warn' }, pino.destination(2));
  // The server child's limits, so that nothing is evicted and every message counts.
  const limits = { maxMessages: CHILD_MAX_MESSAGES, maxBytes: CHILD_MAX_STORE_GIB * 1024 ** 3 };
  const started = performance.now();
  const opened = await openMaildir(dir, logger);
  const openedAt = performance.now();
  const store = new MessageStore(limits, { journal: opened.journal, restored: opened.restored });
  const loadedAt = performance.now();
  const figures = { openMs: openedAt - started, storeMs: loadedAt - openedAt, messages: store.size, bytes: store.bytes, rss: process.memoryUsage().rss };
  await store.close();
  send({ type: 'loaded', ...figures });
}

const dir = process.argv[2];
if (dir === undefined) send({ type: 'failed', message: 'no data directory given' });
else main(dir).catch((error: unknown) => send({ type: 'failed', message: error instanceof Error ? error.message : String(error) }));
