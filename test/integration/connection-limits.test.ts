import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Mailroom } from 'mailroom-catcher';
import { useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

interface Opened {
  socket: Socket;
  /** The first line the server sent. */
  first: string;
  /** Resolves when the server closed the connection. */
  closed: Promise<void>;
  /** Everything received. */
  text(): string;
}

/** A connection from `from` (any 127.x address), with the server's first line. */
async function open(port: number, from = '127.0.0.1', request?: string): Promise<Opened> {
  const socket = connect({ port, host: '127.0.0.1', localAddress: from });
  socket.setEncoding('latin1');
  socket.on('error', () => undefined);
  let received = '';
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await once(socket, 'connect');
  if (request !== undefined) socket.write(request);
  await new Promise<void>((resolve) => {
    const onData = (chunk: string): void => {
      received += chunk;
      if (!received.includes('\n')) return;
      socket.off('data', onData).off('close', resolve);
      resolve();
    };
    socket.on('data', onData).once('close', resolve);
  });
  socket.on('data', (chunk: string) => (received += chunk));
  return { socket, first: received.slice(0, received.indexOf('\r\n')), closed, text: () => received };
}

const HTTP_REQUEST = 'GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';

describe('connection caps', async () => {
  const mailroom = await useMailroom({ maxConnections: 3, maxConnectionsPerIp: 100, pop2Port: 0 });
  const listeners: [string, number, string | undefined, RegExp, string][] = [
    ['SMTP', mailroom.ports.smtp, undefined, /^220 /, '421 Too many connections, try again later'],
    ['POP3', mailroom.ports.pop3, undefined, /^\+OK /, '-ERR [SYS/TEMP] Too many connections, try again later'],
    ['POP2', mailroom.ports.pop2!, undefined, /^\+ /, '- Too many connections, try again later'],
    ['IMAP', mailroom.ports.imap, undefined, /^\* OK /, '* BYE [UNAVAILABLE] Too many connections, try again later'],
    ['HTTP', mailroom.ports.http, HTTP_REQUEST, /^HTTP\/1\.1 200 OK$/, 'HTTP/1.1 503 Service Unavailable'],
  ];

  it.each(listeners)('%s refuses connections past --max-connections with its own error, and takes one again after a close', async (_name, port, request, greeting, refusal) => {
    const held = await Promise.all([1, 2, 3].map(() => open(port, '127.0.0.1', request)));
    for (const connection of held) expect(connection.first).toMatch(greeting);
    const extra = await open(port, '127.0.0.1', request);
    expect(extra.first).toBe(refusal);
    await extra.closed;
    held[0]!.socket.destroy();
    await held[0]!.closed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const again = await open(port, '127.0.0.1', request);
    expect(again.first).toMatch(greeting);
    for (const connection of [...held, again]) connection.socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
  });

  it('answers HTTP refusals with a JSON body', async () => {
    const held = await Promise.all([1, 2, 3].map(() => open(mailroom.ports.http, '127.0.0.1', HTTP_REQUEST)));
    const extra = await open(mailroom.ports.http, '127.0.0.1', HTTP_REQUEST);
    await extra.closed;
    const body = extra.text().slice(extra.text().indexOf('\r\n\r\n') + 4);
    expect(JSON.parse(body)).toStrictEqual({ error: 'unavailable', message: 'Too many connections, try again later' });
    for (const connection of held) connection.socket.destroy();
  });
});

describe('caps per client address', async () => {
  const mailroom = await useMailroom({ maxConnectionsPerIp: 2 });

  it('refuses a third connection from one address and takes one from another', async () => {
    for (const [port, greeting, refusal] of [
      [mailroom.ports.imap, /^\* OK /, '* BYE [UNAVAILABLE] Too many connections from your address, try again later'],
      [mailroom.ports.smtp, /^220 /, '421 Too many connections from your address, try again later'],
    ] as const) {
      const held = [await open(port), await open(port)];
      expect((await open(port)).first).toBe(refusal);
      const other = await open(port, '127.0.0.2');
      expect(other.first).toMatch(greeting);
      for (const connection of [...held, other]) connection.socket.destroy();
    }
  });
});

describe('a flood of connections', async () => {
  const mailroom: Mailroom = await useMailroom();

  it('takes 1,000 IMAP connections, refuses the 50 past the default cap, and keeps serving everyone else', async () => {
    const addresses = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];
    const opened: Opened[] = [];
    for (let batch = 0; batch < 105; batch += 1) {
      opened.push(...(await Promise.all(addresses.flatMap((from) => [open(mailroom.ports.imap, from), open(mailroom.ports.imap, from)]))));
    }
    expect(opened.length).toBe(1050);
    const greeted = opened.filter((c) => c.first.startsWith('* OK '));
    const refused = opened.filter((c) => c.first === '* BYE [UNAVAILABLE] Too many connections, try again later');
    expect([greeted.length, refused.length]).toStrictEqual([1000, 50]);

    const started = Date.now();
    expect((await fetch(`${mailroom.apiUrl}/api/health`)).status).toBe(200);
    const id = await send(mailroom, { subject: 'during the flood' });
    expect(id).toMatch(/^[\w-]{16}$/);
    expect(Date.now() - started).toBeLessThan(2000);

    for (const connection of opened) connection.socket.destroy();
    await Promise.all(opened.map((c) => c.closed));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = await open(mailroom.ports.imap);
    expect(after.first).toMatch(/^\* OK /);
    after.socket.destroy();
  }, 60_000);
});
