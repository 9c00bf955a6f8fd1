import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { api, useMailroom } from '../helpers/mailroom.js';
import { SmtpWire } from '../helpers/smtp-wire.js';

/** A raw IMAP connection, logged in, that sends bytes and waits for a reply line starting with `prefix`. */
async function imapSession(port: number): Promise<{ socket: Socket; until(prefix: string): Promise<string> }> {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('latin1');
  await once(socket, 'connect');
  let buffered = '';
  const waiting: { prefix: string; resolve: (line: string) => void }[] = [];
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let eol: number;
    while ((eol = buffered.indexOf('\r\n')) >= 0) {
      const line = buffered.slice(0, eol);
      buffered = buffered.slice(eol + 2);
      const index = waiting.findIndex((w) => line.startsWith(w.prefix));
      if (index >= 0) waiting.splice(index, 1)[0]!.resolve(line);
    }
  });
  const until = (prefix: string): Promise<string> => new Promise((resolve) => waiting.push({ prefix, resolve }));
  const greeting = until('* OK');
  await greeting;
  socket.write('l LOGIN user pw\r\n');
  await until('l OK');
  return { socket, until };
}

describe('mail being received at once', async () => {
  const mailroom = await useMailroom({ maxMessageSize: '1MiB', maxIngestBytes: '2MiB' });

  it('holds at most --max-ingest-bytes over every session: the message past it gets 452, the others are stored', async () => {
    const body = `Subject: big\r\n\r\n${'y'.repeat(76)}\r\n`.repeat(11_000).slice(0, 800_000);
    const sessions = await Promise.all([0, 1, 2].map(() => SmtpWire.open(mailroom.ports.smtp)));
    for (const wire of sessions) {
      await wire.reply();
      await wire.command('EHLO tester');
      await wire.command('MAIL FROM:<a@example.test>');
      await wire.command('RCPT TO:<b@example.test>');
      expect((await wire.command('DATA')).code).toBe(354);
    }
    // Two messages' worth are held at once; the third does not fit beside them.
    sessions[0]!.write(body);
    sessions[1]!.write(body);
    await new Promise((resolve) => setTimeout(resolve, 300));
    sessions[2]!.write(body);
    sessions[2]!.write('\r\n.\r\n');
    expect((await sessions[2]!.reply()).text).toBe('452 4.2.2 Too much mail being received at once, try again later');
    for (const wire of sessions.slice(0, 2)) wire.write('\r\n.\r\n');
    expect((await sessions[0]!.reply()).code).toBe(250);
    expect((await sessions[1]!.reply()).code).toBe(250);
    // Stored and refused messages gave their bytes back: the third fits now.
    expect((await sessions[2]!.command('MAIL FROM:<a@example.test>')).code).toBe(250);
    await sessions[2]!.command('RCPT TO:<b@example.test>');
    await sessions[2]!.command('DATA');
    sessions[2]!.write(body);
    expect((await sessions[2]!.command('\r\n.')).code).toBe(250);
    expect((await api<{ total: number }>(mailroom, '/api/messages')).body.total).toBe(3);
    for (const wire of sessions) wire.close();
  });
});

describe('APPEND literals', async () => {
  const mailroom = await useMailroom({ maxMessageSize: '1MiB', maxIngestBytes: '2MiB' });
  const size = 900_000;
  const message = `Subject: appended\r\n\r\n${'z'.repeat(size - 21)}`;

  it('take from the same budget as SMTP: past it APPEND gets NO [LIMIT] without a continuation, and SMTP 452', async () => {
    expect(Buffer.byteLength(message)).toBe(size);
    const [first, second, third] = await Promise.all([0, 1, 2].map(() => imapSession(mailroom.ports.imap)));
    for (const [session, tag] of [[first!, 'a'], [second!, 'b']] as const) {
      session.socket.write(`${tag} APPEND INBOX {${size}}\r\n`);
      expect(await session.until('+')).toBe('+ Ready for literal data');
      session.socket.write(message.slice(0, 1000));
    }
    third!.socket.write(`c APPEND INBOX {${size}}\r\n`);
    expect(await third!.until('c ')).toBe('c NO [LIMIT] Too much mail being received at once, try again later');

    const smtp = await SmtpWire.open(mailroom.ports.smtp);
    await smtp.reply();
    for (const line of ['EHLO tester', 'MAIL FROM:<a@example.test>', 'RCPT TO:<b@example.test>']) await smtp.command(line);
    await smtp.command('DATA');
    smtp.write(`Subject: squeezed\r\n\r\n${'q'.repeat(300_000)}\r\n`);
    expect((await smtp.command('.')).text).toBe('452 4.2.2 Too much mail being received at once, try again later');

    for (const [session, tag] of [[first!, 'a'], [second!, 'b']] as const) {
      session.socket.write(`${message.slice(1000)}\r\n`);
      const uid = tag === 'a' ? 1 : 2;
      expect((await session.until(`${tag} `)).replace(/APPENDUID \d+/, 'APPENDUID v')).toBe(`${tag} OK [APPENDUID v ${uid}] Append completed`);
    }
    // Stored, the messages no longer count as being received: the third fits now.
    third!.socket.write(`d APPEND INBOX {${size}}\r\n`);
    expect(await third!.until('+')).toBe('+ Ready for literal data');
    third!.socket.write(`${message}\r\n`);
    expect(await third!.until('d ')).toMatch(/^d OK /);
    expect((await api<{ total: number }>(mailroom, '/api/messages')).body.total).toBe(3);
    for (const session of [first!, second!, third!]) session.socket.destroy();
    smtp.close();
  });
});
