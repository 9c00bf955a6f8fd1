import { connect } from 'node:net';
import nodemailer from 'nodemailer';
import { expect, it } from 'vitest';
import { startChildMailroom } from '../helpers/child-mailroom.js';

const child = await startChildMailroom();

it('answers a client that keeps sending garbage behind a large answer once, after that answer, without piling up listeners', async () => {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: child.ports.smtp, ignoreTLS: true });
  const info = await transport.sendMail({ from: 'a@example.test', to: 'b@example.test', text: 'x'.repeat(8_000_000) });
  transport.close();
  const id = /queued as (\S+)/.exec(info.response)![1]!;
  const raw = Buffer.from(await (await fetch(`${child.apiUrl}/api/messages/${id}/raw`)).arrayBuffer());

  const socket = connect(child.ports.http, '127.0.0.1');
  // Not reading: the 8 MB answer stays half written while the garbage arrives.
  socket.pause();
  const chunks: Buffer[] = [];
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(`GET /api/messages/${id}/raw HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (let i = 0; i < 30; i++) {
    socket.write('garbage garbage\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.resume();
  await closed;

  const received = Buffer.concat(chunks);
  const bodyStart = received.indexOf('\r\n\r\n') + 4;
  expect(received.subarray(0, 15).toString()).toBe('HTTP/1.1 200 OK');
  expect(received.subarray(bodyStart, bodyStart + raw.length).equals(raw)).toBe(true);
  const after = received.subarray(bodyStart + raw.length).toString();
  expect(after.match(/^HTTP\/1\.1 /gm)).toHaveLength(1);
  expect(after.startsWith('HTTP/1.1 400 Bad Request\r\n')).toBe(true);
  expect(after.slice(after.indexOf('\r\n\r\n') + 4)).toBe('{"error":"bad_request","message":"Malformed HTTP request"}');
  expect(child.log.join('\n')).not.toContain('MaxListenersExceededWarning');
  expect(child.alive()).toBe(true);
}, 60_000);
