import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { api, clearAll, useMailroom } from '../helpers/mailroom.js';
import { SmtpWire } from '../helpers/smtp-wire.js';

const MAX_SIZE = 20_000;
const mailroom = await useMailroom({ maxMessageSize: MAX_SIZE });

async function session(): Promise<SmtpWire> {
  const wire = await SmtpWire.open(mailroom.ports.smtp);
  expect((await wire.reply()).text).toMatch(/^220 .*Mailroom ESMTP ready/);
  return wire;
}

async function count(): Promise<number> {
  return (await api<{ total: number }>(mailroom, '/api/messages')).body.total;
}

async function raw(id: string): Promise<string> {
  const response = await fetch(`${mailroom.apiUrl}/api/messages/${id}/raw`);
  return Buffer.from(await response.arrayBuffer()).toString('latin1');
}

/** Sends one good message on a fresh connection and returns its id: proof the server still works. */
async function sendOne(subject = 'still alive'): Promise<string> {
  const wire = await session();
  await wire.command('EHLO client.test');
  await wire.command('MAIL FROM:<a@example.com>');
  await wire.command('RCPT TO:<b@example.com>');
  expect((await wire.command('DATA')).code).toBe(354);
  const reply = await wire.command(`Subject: ${subject}\r\n\r\nbody\r\n.`);
  expect(reply.code).toBe(250);
  await wire.command('QUIT');
  return /queued as (\S+)/.exec(reply.text)![1]!;
}

describe('SMTP on the wire', () => {
  beforeEach(() => clearAll(mailroom));

  it('advertises the extensions in EHLO', async () => {
    const wire = await session();
    const reply = await wire.command('EHLO client.test');
    expect(reply.lines).toStrictEqual([
      '250-mailroom Nice to meet you, [127.0.0.1]',
      '250-PIPELINING',
      '250-8BITMIME',
      '250-SMTPUTF8',
      '250-ENHANCEDSTATUSCODES',
      '250-AUTH PLAIN LOGIN',
      `250 SIZE ${MAX_SIZE}`,
    ]);
    wire.close();
  });

  it('answers HELO, HELP, NOOP, RSET and QUIT', async () => {
    const wire = await session();
    expect((await wire.command('HELO old.client')).code).toBe(250);
    expect((await wire.command('HELP')).code).toBe(214);
    expect((await wire.command('NOOP')).text).toBe('250 2.0.0 OK');
    expect((await wire.command('MAIL FROM:<a@example.com>')).code).toBe(250);
    expect((await wire.command('RSET')).code).toBe(250);
    expect((await wire.command('RCPT TO:<b@example.com>')).code).toBe(503);
    expect((await wire.command('QUIT')).code).toBe(221);
    await wire.closed;
  });

  it('answers pipelined commands in order and unstuffs dots', async () => {
    const wire = await session();
    await wire.command('EHLO client.test');
    wire.write(
      'MAIL FROM:<pipe@example.com> BODY=8BITMIME\r\nRCPT TO:<one@example.com>\r\nRCPT TO:<two@example.com>\r\nDATA\r\n',
    );
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await wire.reply()).code);
    expect(codes).toStrictEqual([250, 250, 250, 354]);
    wire.write('Subject: dots\r\n\r\n..starts with a dot\r\n...two\r\nend\r\n.\r\nQUIT\r\n');
    const reply = await wire.reply();
    expect(reply.code).toBe(250);
    expect((await wire.reply()).code).toBe(221);
    const id = /queued as (\S+)/.exec(reply.text)![1]!;
    expect(await raw(id)).toBe('Subject: dots\r\n\r\n.starts with a dot\r\n..two\r\nend\r\n');
    const detail = await api<{ envelope: unknown }>(mailroom, `/api/messages/${id}`);
    expect(detail.body.envelope).toStrictEqual({ mailFrom: 'pipe@example.com', rcptTo: ['one@example.com', 'two@example.com'] });
  });

  it('accepts SMTPUTF8 addresses and 8-bit headers', async () => {
    const wire = await session();
    await wire.command('EHLO client.test');
    expect((await wire.command('MAIL FROM:<jürgen@exämple.com> SMTPUTF8')).code).toBe(250);
    expect((await wire.command('RCPT TO:<zoë@exämple.com>')).code).toBe(250);
    await wire.command('DATA');
    wire.write(Buffer.from('From: Jürgen <jürgen@exämple.com>\r\nSubject: Grüße\r\n\r\nHallo\r\n.\r\n', 'utf8'));
    const reply = await wire.reply();
    expect(reply.code).toBe(250);
    const id = /queued as (\S+)/.exec(reply.text)![1]!;
    const detail = await api<{ subject: string; from: unknown; envelope: unknown }>(mailroom, `/api/messages/${id}`);
    expect(detail.body.subject).toBe('Grüße');
    expect(detail.body.from).toStrictEqual({ name: 'Jürgen', address: 'jürgen@exämple.com' });
    expect(detail.body.envelope).toStrictEqual({ mailFrom: 'jürgen@exämple.com', rcptTo: ['zoë@exämple.com'] });
    wire.close();
  });

  it('refuses an oversize message with 552 and stores nothing', async () => {
    const wire = await session();
    await wire.command('EHLO client.test');
    expect((await wire.command(`MAIL FROM:<a@example.com> SIZE=${MAX_SIZE + 1}`)).code).toBe(552);
    expect((await wire.command('MAIL FROM:<a@example.com>')).code).toBe(250);
    await wire.command('RCPT TO:<b@example.com>');
    await wire.command('DATA');
    const line = 'x'.repeat(998) + '\r\n';
    wire.write('Subject: big\r\n\r\n' + line.repeat(Math.ceil(MAX_SIZE / 1000) + 2) + '.\r\n');
    const reply = await wire.reply();
    expect(reply.code).toBe(552);
    expect(await count()).toBe(0);
    await sendOne();
    expect(await count()).toBe(1);
    wire.close();
  });

  it('rejects unknown and malformed commands and keeps the session', async () => {
    const wire = await session();
    expect((await wire.command('MAIL FROM:<a@example.com>')).code).toBe(503);
    await wire.command('EHLO client.test');
    expect((await wire.command('FROB nicate')).code).toBe(500);
    expect((await wire.command('MAIL FROM:no-brackets-at-all and junk')).code).toBe(501);
    expect((await wire.command('DATA')).code).toBe(503);
    expect((await wire.command('RCPT TO:<b@example.com>')).code).toBe(503);
    expect((await wire.command('MAIL FROM:<a@example.com>')).code).toBe(250);
    expect((await wire.command('RCPT TO:<>')).code).toBe(501);
    expect((await wire.command('NOOP')).code).toBe(250);
    wire.close();
    await sendOne();
  });

  it('answers a 100 KB command line with 421 and closes, and the server goes on', async () => {
    const wire = await session();
    // smtp-server cannot find the next command after an over-long line, so it closes (RFC 5321 §4.2.2 421).
    wire.write(`EHLO ${'a'.repeat(100 * 1024)}\r\n`);
    expect((await wire.reply()).text).toBe('421 4.4.2 Error: Command line too long');
    await wire.closed;
    await sendOne();
    expect(await count()).toBe(1);
  });

  it('survives binary garbage', async () => {
    const wire = await session();
    const replies: number[] = [];
    for (let i = 0; i < 5; i++) {
      wire.write(Buffer.concat([randomBytes(200).map((b) => (b === 10 || b === 13 ? 0 : b)), Buffer.from('\r\n')]));
      replies.push((await wire.reply()).code);
    }
    expect(replies.every((code) => code >= 500)).toBe(true);
    wire.close();
    await sendOne();
  });

  it('stores nothing when the client disconnects in the middle of DATA', async () => {
    const wire = await session();
    await wire.command('EHLO client.test');
    await wire.command('MAIL FROM:<a@example.com>');
    await wire.command('RCPT TO:<b@example.com>');
    expect((await wire.command('DATA')).code).toBe(354);
    wire.write('Subject: half\r\n\r\nthe first half of a messa');
    await new Promise((resolve) => setTimeout(resolve, 50));
    wire.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await count()).toBe(0);
    await sendOne();
    expect(await count()).toBe(1);
  });

  it('keeps a message with bare LF line ends exactly as sent', async () => {
    const wire = await session();
    await wire.command('EHLO client.test');
    await wire.command('MAIL FROM:<a@example.com>');
    await wire.command('RCPT TO:<b@example.com>');
    await wire.command('DATA');
    wire.write('Subject: bare\nX-Test: 1\n\nline one\nline two\r\n.\r\n');
    const reply = await wire.reply();
    expect(reply.code).toBe(250);
    const id = /queued as (\S+)/.exec(reply.text)![1]!;
    expect(await raw(id)).toBe('Subject: bare\nX-Test: 1\n\nline one\nline two\r\n');
    const detail = await api<{ subject: string; snippet: string }>(mailroom, `/api/messages/${id}`);
    expect([detail.body.subject, detail.body.snippet]).toStrictEqual(['bare', 'line one line two']);
    wire.close();
  });
});
