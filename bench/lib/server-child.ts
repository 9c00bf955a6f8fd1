import { setImmediate as nextTurn } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startMailroom } from 'mailroom-catcher';
import { CHILD_MAX_MESSAGES, CHILD_MAX_STORE_GIB, type ChildMessage, type ChildRequest } from './child-protocol.js';

/*
 * Mailroom in a process of its own, so that its CPU time and memory are not
 * mixed with the load generator's. Started by bench/lib/mailroom-child.ts
 * with --expose-gc, and --data-dir DIR to keep messages on disk; it stops
 * when the parent disconnects or dies.
 */

const send = (message: ChildMessage, then: () => void = () => undefined): void => {
  process.send?.(message, then);
};

const failed = (message: string): void => send({ type: 'failed', message }, () => process.exit(1));

/** Memory after full collections, with turns between so that finalizers and freed buffers settle. */
async function collect(gc: () => void): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 4; i++) {
    gc();
    await nextTurn();
  }
  return process.memoryUsage();
}

async function main(gc: () => void): Promise<void> {
  const { values } = parseArgs({ options: { 'data-dir': { type: 'string' } } });
  const mailroom = await startMailroom({
    smtpPort: 0,
    pop3Port: 0, imapPort: 0,
    httpPort: 0,
    logLevel: 'silent',
    maxMessages: CHILD_MAX_MESSAGES,
    maxStoreBytes: `${CHILD_MAX_STORE_GIB}GiB`,
    dataDir: values['data-dir'],
  });
  process.on('message', (request: ChildRequest) => {
    if (request.cmd === 'cpu') send({ type: 'cpu', id: request.id, cpu: process.cpuUsage() });
    else void collect(gc).then((memory) => send({ type: 'gc', id: request.id, memory }));
  });
  process.once('disconnect', () => {
    void mailroom.close().finally(() => process.exit(0));
  });
  send({ type: 'ready', ports: { smtp: mailroom.ports.smtp, http: mailroom.ports.http, pop3: mailroom.ports.pop3 }, apiUrl: mailroom.apiUrl });
}

const gc = globalThis.gc;
if (gc) main(gc).catch((error: unknown) => failed(error instanceof Error ? error.message : String(error)));
else failed('the server child needs --expose-gc');
