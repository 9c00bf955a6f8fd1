import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { api, mailroomForTest, useMailroom } from '../helpers/mailroom.js';

const mailroom = await useMailroom();
const PIXEL = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const PDF = Buffer.from('%PDF-1.4\n\x00\xff binary\n', 'latin1');

async function post(body: unknown, target = mailroom): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = await api<Record<string, unknown>>(target, '/api/messages', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: answer.status, body: answer.body };
}

describe('POST /api/messages', () => {
  it('stores the message its fields describe, Bcc in the envelope only, as a mail client would have sent it', async () => {
    const created = await post({
      from: 'Ann Example <ann@example.test>',
      to: [{ name: 'Bob Ünïcode', address: 'bob@example.test' }, 'carol@example.test'],
      cc: ['Dan <dan@example.test>'],
      bcc: ['hidden@example.test'],
      replyTo: ['replies@example.test'],
      subject: 'Ihre Bestellung: 42 € ✓',
      text: 'Your code is 123456',
      html: '<p>Your code is <b>123456</b></p><img src="cid:logo@example.test">',
      headers: { 'X-Trace': 'abc-123' },
      tags: ['Fixture', 'two words'],
      attachments: [
        { filename: 'invoice.pdf', content: PDF.toString('base64'), contentType: 'application/pdf' },
        { filename: 'logo.png', content: PIXEL.toString('base64'), contentType: 'image/png', contentId: 'logo@example.test' },
      ],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      from: { name: 'Ann Example', address: 'ann@example.test' },
      to: [{ name: 'Bob Ünïcode', address: 'bob@example.test' }, { name: '', address: 'carol@example.test' }],
      cc: [{ name: 'Dan', address: 'dan@example.test' }],
      subject: 'Ihre Bestellung: 42 € ✓',
      read: false,
      tags: ['Fixture', 'two words'],
      attachmentCount: 1,
      envelope: { mailFrom: 'ann@example.test', rcptTo: ['bob@example.test', 'carol@example.test', 'dan@example.test', 'hidden@example.test'] },
    });
    const raw = await fetch(`${mailroom.apiUrl}/api/messages/${created.body.id as string}/raw`);
    const bytes = Buffer.from(await raw.arrayBuffer());
    expect(bytes.toString('latin1')).not.toMatch(/^bcc:/im);
    expect(bytes.toString('latin1')).toMatch(/^Message-ID: <[0-9a-f-]{36}@mailroom>\r$/m);
    const parsed = await simpleParser(bytes, { keepCidLinks: true });
    expect(parsed.subject).toBe('Ihre Bestellung: 42 € ✓');
    expect(parsed.text).toBe('Your code is 123456');
    expect(parsed.html).toBe('<p>Your code is <b>123456</b></p><img src="cid:logo@example.test">');
    expect(parsed.headers.get('x-trace')).toBe('abc-123');
    expect(parsed.replyTo?.value).toStrictEqual([{ name: '', address: 'replies@example.test' }]);
    expect(parsed.attachments.map((a) => [a.filename, a.contentType, a.contentDisposition, a.cid ?? null, a.content.equals(a.filename === 'logo.png' ? PIXEL : PDF)])).toStrictEqual([
      // The inline image sits beside the HTML in multipart/related, which comes before the attachment.
      ['logo.png', 'image/png', 'inline', 'logo@example.test', true],
      ['invoice.pdf', 'application/pdf', 'attachment', null, true],
    ]);
  });

  it('refuses what it cannot build with a 400 naming the field', async () => {
    const base = { from: 'a@example.test', to: ['b@example.test'], subject: 's' };
    const cases: [unknown, string][] = [
      [{ ...base, headers: { subject: 'twice' } }, 'headers: subject is set by its own field'],
      [{ ...base, headers: { 'X-Evil': 'a\r\nBcc: x@example.test' } }, 'header X-Evil holds a line break'],
      [{ ...base, headers: { 'Bad Name': 'x' } }, 'invalid header name: "Bad Name"'],
      [{ ...base, to: [] }, 'no recipients (to, cc, bcc) set'],
      [{ ...base, from: 'a@example.test, b@example.test' }, 'from: expected one address, got "a@example.test, b@example.test"'],
      [{ ...base, attachments: [{ filename: 'x', content: 'not base64!' }] }, 'attachments/0/content: expected base64'],
    ];
    for (const [body, message] of cases) expect(await post(body), message).toStrictEqual({ status: 400, body: { error: 'bad_request', message } });
    const badTag = await post({ ...base, tags: ['a(b'] });
    expect([badTag.status, badTag.body.error]).toStrictEqual([400, 'invalid_tag']);
    const unknown = await post({ ...base, path: '/etc/passwd' });
    expect([unknown.status, unknown.body.error]).toStrictEqual([400, 'bad_request']);
    const garbage = await api(mailroom, '/api/messages', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"from":' });
    expect([garbage.status, (garbage.body as { error: string }).error]).toStrictEqual([400, 'bad_request']);
  });

  it('answers 413 for a message over --max-message-size, before or after building it, and stores nothing', async () => {
    const small = await mailroomForTest({ maxMessageSize: '16KiB' });
    const base = { from: 'a@example.test', to: ['b@example.test'], subject: 'big' };
    const built = await post({ ...base, text: 'x'.repeat(15_000), attachments: [{ filename: 'f.bin', content: Buffer.alloc(3000).toString('base64') }] }, small);
    expect(built).toMatchObject({ status: 413, body: { error: 'payload_too_large' } });
    expect(built.body.message).toMatch(/^The message would be \d+ bytes, over the 16384 allowed$/);
    const sent = await post({ ...base, text: 'x'.repeat(2_000_000) }, small);
    expect(sent).toMatchObject({ status: 413, body: { error: 'payload_too_large' } });
    expect((await api<{ total: number }>(small, '/api/messages')).body.total).toBe(0);
  });
});
