import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import { beforeEach, describe, expect, it } from 'vitest';
import { api, clearAll, useMailroom } from '../helpers/mailroom.js';

const mailroom = await useMailroom();
const transport = nodemailer.createTransport({ host: mailroom.host, port: mailroom.ports.smtp, secure: false, ignoreTLS: true });

function compose(options: ConstructorParameters<typeof MailComposer>[0]): Promise<Buffer> {
  return new MailComposer(options).compile().build();
}

const queuedId = (response: string): string => /queued as (\S+)/.exec(response)![1]!;

const sha256 = (content: Buffer | string): string => createHash('sha256').update(content).digest('hex');

describe('SMTP with nodemailer', () => {
  beforeEach(() => clearAll(mailroom));

  it('stores a multipart message with attachments byte for byte, Bcc visible only in the envelope', async () => {
    const pdf = Buffer.from('%PDF-1.4\n' + 'x'.repeat(3000) + '\n%%EOF\n');
    const raw = await compose({
      from: '"Zoë Example" <zoe@example.com>',
      to: ['Bob <bob@example.com>', 'carol@example.com'],
      cc: 'Dan <dan@example.com>',
      subject: 'Grüße from the app ✓',
      date: new Date('2026-11-20T10:00:00Z'),
      messageId: '<welcome-1@example.com>',
      // CRLF line ends, because nodemailer's SMTP transport rewrites bare LF on the wire.
      text: 'Hello Bob,\r\n.a line starting with a dot\r\nThanks ✓',
      html: '<p>Hello <b>Bob</b></p>',
      attachments: [
        { filename: 'report.pdf', content: pdf, contentType: 'application/pdf' },
        { filename: 'notes.txt', content: 'plain notes\n', contentType: 'text/plain' },
      ],
    });
    const before = Date.now();
    const info = await transport.sendMail({
      envelope: { from: 'bounce@example.com', to: ['bob@example.com', 'carol@example.com', 'dan@example.com', 'hidden@example.com'] },
      raw,
    });
    const id = queuedId(info.response);

    const stored = await fetch(`${mailroom.apiUrl}/api/messages/${id}/raw`);
    expect(stored.headers.get('content-type')).toBe('message/rfc822');
    const got = Buffer.from(await stored.arrayBuffer());
    expect(got.equals(raw)).toBe(true);

    const list = await api<{ total: number; unread: number; messages: Record<string, unknown>[] }>(mailroom, '/api/messages');
    const receivedAt = list.body.messages[0]!.receivedAt as string;
    expect(Date.parse(receivedAt)).toBeGreaterThanOrEqual(before - 1);
    const summary = {
      id,
      from: { name: 'Zoë Example', address: 'zoe@example.com' },
      to: [
        { name: 'Bob', address: 'bob@example.com' },
        { name: '', address: 'carol@example.com' },
      ],
      cc: [{ name: 'Dan', address: 'dan@example.com' }],
      subject: 'Grüße from the app ✓',
      date: '2026-11-20T10:00:00.000Z',
      receivedAt,
      size: raw.length,
      read: false,
      tags: [],
      attachmentCount: 2,
      snippet: 'Hello Bob, .a line starting with a dot Thanks ✓',
      envelope: {
        mailFrom: 'bounce@example.com',
        rcptTo: ['bob@example.com', 'carol@example.com', 'dan@example.com', 'hidden@example.com'],
      },
    };
    expect(list.body).toStrictEqual({ total: 1, unread: 1, messages: [summary] });

    const detail = await api<Record<string, unknown>>(mailroom, `/api/messages/${id}`);
    expect(detail.status).toBe(200);
    const headerNames = (detail.body.headers as { name: string }[]).map((h) => h.name);
    expect(headerNames).toStrictEqual(['From', 'To', 'Cc', 'Subject', 'Message-ID', 'Date', 'MIME-Version', 'Content-Type']);
    expect(detail.body).toStrictEqual({
      ...summary,
      headers: expect.any(Array),
      // CRLF line ends, because nodemailer's SMTP transport rewrites bare LF on the wire.
      text: 'Hello Bob,\n.a line starting with a dot\nThanks ✓',
      html: '<p>Hello <b>Bob</b></p>',
      attachments: [
        { partId: '2', filename: 'report.pdf', contentType: 'application/pdf', size: pdf.length, sha256: sha256(pdf), contentId: null, disposition: 'attachment' },
        { partId: '3', filename: 'notes.txt', contentType: 'text/plain', size: 12, sha256: sha256('plain notes\n'), contentId: null, disposition: 'attachment' },
      ],
      smtp: { helo: expect.any(String), remoteAddress: '127.0.0.1', authUser: null, tls: false },
    });
    expect((detail.body.headers as { name: string; value: string }[])[3]).toStrictEqual({ name: 'Subject', value: 'Grüße from the app ✓' });

    const attachment = await fetch(`${mailroom.apiUrl}/api/messages/${id}/attachments/2`);
    expect(attachment.status).toBe(200);
    expect(attachment.headers.get('content-type')).toBe('application/pdf');
    expect(attachment.headers.get('content-disposition')).toBe('attachment; filename=report.pdf');
    expect(Buffer.from(await attachment.arrayBuffer()).equals(pdf)).toBe(true);
  });

  it('records the authenticated user and the HELO name', async () => {
    const authed = nodemailer.createTransport({
      host: mailroom.host,
      port: mailroom.ports.smtp,
      ignoreTLS: true,
      name: 'app.test',
      auth: { user: 'app-user', pass: 'anything at all' },
    });
    const info = await authed.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'auth', text: 'x' });
    const detail = await api<{ smtp: unknown }>(mailroom, `/api/messages/${queuedId(info.response)}`);
    expect(detail.body.smtp).toStrictEqual({ helo: 'app.test', remoteAddress: '127.0.0.1', authUser: 'app-user', tls: false });
  });

  it('accepts AUTH LOGIN as well as PLAIN', async () => {
    const login = nodemailer.createTransport({
      host: mailroom.host,
      port: mailroom.ports.smtp,
      ignoreTLS: true,
      auth: { user: 'login-user', pass: 'pw', method: 'LOGIN' },
    });
    const info = await login.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'login', text: 'x' });
    const detail = await api<{ smtp: { authUser: string } }>(mailroom, `/api/messages/${queuedId(info.response)}`);
    expect(detail.body.smtp.authUser).toBe('login-user');
  });

  it('keeps every message from 20 concurrent senders', async () => {
    const sends = Array.from({ length: 20 }, (_, i) =>
      nodemailer
        .createTransport({ host: mailroom.host, port: mailroom.ports.smtp, ignoreTLS: true })
        .sendMail({ from: `sender${i}@example.com`, to: 'many@example.com', subject: `concurrent ${i}`, text: `body ${i}` }),
    );
    const infos = await Promise.all(sends);
    const list = await api<{ total: number; messages: { id: string; subject: string }[] }>(mailroom, '/api/messages?limit=100');
    expect(list.body.total).toBe(20);
    expect(new Set(list.body.messages.map((m) => m.id))).toStrictEqual(new Set(infos.map((i) => queuedId(i.response))));
    expect(list.body.messages.map((m) => m.subject).sort()).toStrictEqual(Array.from({ length: 20 }, (_, i) => `concurrent ${i}`).sort());
  });
});
