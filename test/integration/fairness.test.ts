import { once } from 'node:events';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { useMailroom } from '../helpers/mailroom.js';
import { bulkSend } from '../helpers/bulk.js';

/** Asks /api/health back to back until `done`; resolves to the slowest answer in ms. */
async function probe(apiUrl: string, done: Promise<unknown>): Promise<number> {
  let finished = false;
  void done.then(() => (finished = true));
  let slowest = 0;
  while (!finished) {
    const started = performance.now();
    await fetch(`${apiUrl}/api/health`);
    slowest = Math.max(slowest, performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return slowest;
}

/** Sends `commands` at once and reads until `last` has arrived; resolves to the bytes read. */
async function pipeline(port: number, greeting: string, commands: string, last: string): Promise<number> {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('latin1');
  await once(socket, 'connect');
  let received = '';
  let total = 0;
  return new Promise((resolve, reject) => {
    socket.on('data', (chunk: string) => {
      if (total === 0 && chunk.startsWith(greeting)) socket.write(commands);
      total += chunk.length;
      received += chunk;
      if (received.endsWith(last)) {
        socket.destroy();
        resolve(total);
      }
      // Only the tail matters; keep memory flat over megabytes of replies.
      if (received.length > 1_000_000) received = received.slice(-1000);
    });
    socket.once('error', reject);
  });
}

describe('one client pipelining costly commands', async () => {
  const mailroom = await useMailroom();
  await bulkSend(mailroom.ports.smtp, 5000, (i) => `Order ${i} confirmed`);

  it('over IMAP, leaves others served within a time slice or so', async () => {
    const searches = Array.from({ length: 300 }, (_, i) => `s${i} UID SEARCH TEXT "needle-${i}"\r\n`).join('');
    const started = performance.now();
    const work = pipeline(mailroom.ports.imap, '* OK', `a LOGIN u p\r\nb SELECT INBOX\r\n${searches}z LOGOUT\r\n`, 'z OK LOGOUT completed\r\n');
    const slowest = await probe(mailroom.apiUrl, work);
    expect(await work).toBeGreaterThan(0);
    // Run back to back, the pipeline would hold every probe for nearly all of its run; the machine's own load scales both.
    expect(slowest).toBeLessThan(Math.max(500, 0.3 * (performance.now() - started)));
  }, 60_000);

  it('over POP3, leaves others served within a time slice or so', async () => {
    const lists = 'LIST\r\n'.repeat(1000);
    const started = performance.now();
    const work = pipeline(mailroom.ports.pop3, '+OK', `USER u\r\nPASS p\r\n${lists}QUIT\r\n`, 'signing off (0 messages deleted)\r\n');
    const slowest = await probe(mailroom.apiUrl, work);
    expect(await work).toBeGreaterThan(1000 * 5000 * 8);
    expect(slowest).toBeLessThan(Math.max(500, 0.3 * (performance.now() - started)));
  }, 60_000);
});
