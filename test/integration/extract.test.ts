import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { whileProbing } from '../helpers/latency-probe.js';
import { api, useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

const mailroom = await useMailroom();

const raw = async (id: string): Promise<string> => (await fetch(`${mailroom.apiUrl}/api/messages/${id}/raw`)).text();

/** Long enough that any 76-column encoding breaks it across lines. */
const RESET = `https://app.example.test/reset?token=${'f00dbabe'.repeat(16)}&user=42&next=%2Fsettings%2Fsecurity`;
const HTML = [
  '<html><head><title>Reset https://title.example.test/</title></head><body>',
  `<p>Hello, <a href="${RESET.replaceAll('&', '&amp;')}">reset <b>your</b>\n   <i>password</i></a>.</p>`,
  '<p><a href="https://app.example.test/help?a=1&amp;b=2"><img src="https://cdn.example.test/i.png" alt="Help centre"></a>',
  '<a href="https://app.example.test/unsubscribe">Unsub&shy;scribe &amp; forget</a>',
  `<a href="${RESET.replaceAll('&', '&amp;')}">the same link again</a></p>`,
  '</body></html>',
].join('\n');
const TEXT = `Reset your password: ${RESET}.\nOr paste <${RESET}> into your browser.\nHelp: https://app.example.test/help?a=1&b=2, mail mailto:help@example.test!`;

const expectedLinks = [
  { url: RESET, text: null, part: '1', type: 'text' },
  { url: RESET, text: null, part: '1', type: 'text' },
  { url: 'https://app.example.test/help?a=1&b=2', text: null, part: '1', type: 'text' },
  { url: 'mailto:help@example.test', text: null, part: '1', type: 'text' },
  { url: RESET, text: 'reset your password', part: '2', type: 'html' },
  { url: 'https://app.example.test/help?a=1&b=2', text: 'Help centre', part: '2', type: 'html' },
  { url: 'https://app.example.test/unsubscribe', text: 'Unsub\u00adscribe & forget', part: '2', type: 'html' },
  { url: RESET, text: 'the same link again', part: '2', type: 'html' },
];

describe('links', () => {
  for (const textEncoding of ['quoted-printable', 'base64'] as const) {
    it(`lists every link whole from ${textEncoding} bodies, in document order, duplicates kept`, async () => {
      const id = await send(mailroom, { subject: `links ${textEncoding}`, text: TEXT, html: HTML, textEncoding });
      const message = await raw(id);
      expect(message).toContain(`Content-Transfer-Encoding: ${textEncoding}`);
      // The encoding split the URL across lines; the API joins it again.
      expect(message).not.toContain(RESET);
      const { status, body } = await api(mailroom, `/api/messages/${id}/links`);
      expect(status).toBe(200);
      expect(body).toStrictEqual({ links: expectedLinks });
    });
  }

  it('numbers parts inside multipart/mixed and reads UTF-8 anchor text', async () => {
    const id = await send(mailroom, {
      subject: 'links with an attachment',
      text: 'Nothing here but https://x.example.test/päth?q=ü',
      html: '<a href="https://x.example.test/b%C3%A4r">Bestätigen&nbsp;→</a>',
      textEncoding: 'quoted-printable',
      attachments: [{ filename: 'links.txt', content: 'https://attachment.example.test/ is not a body link' }],
    });
    expect((await api(mailroom, `/api/messages/${id}/links`)).body).toStrictEqual({
      links: [
        { url: 'https://x.example.test/päth?q=ü', text: null, part: '1.1', type: 'text' },
        { url: 'https://x.example.test/b%C3%A4r', text: 'Bestätigen →', part: '1.2', type: 'html' },
      ],
    });
  });

  it('answers an empty list for a message without links, and 404 JSON for an unknown id', async () => {
    const id = await send(mailroom, { subject: 'no links', text: 'Just words.' });
    expect((await api(mailroom, `/api/messages/${id}/links`)).body).toStrictEqual({ links: [] });
    const missing = await api(mailroom, '/api/messages/nope/links');
    expect(missing.status).toBe(404);
    expect(missing.body).toStrictEqual({ error: 'not_found', message: 'No message with id nope' });
  });
});

describe('codes', () => {
  it('finds one-time codes standing alone, not dates, phone numbers or URLs', async () => {
    const id = await send(mailroom, {
      subject: 'Your code',
      text: [
        'Your verification code is 482913.',
        'It expires on 2026-05-01 at 10:30, or Jan 5, 2027. Questions? Call +1 555-123-4567.',
        'Or open https://app.example.test/verify?code=482913&session=99887766',
        'Backup code: 7351',
        '© 2026 Example Inc.',
      ].join('\n'),
      textEncoding: 'base64',
    });
    const { status, body } = await api(mailroom, `/api/messages/${id}/codes`);
    expect(status).toBe(200);
    expect(body).toStrictEqual({ codes: ['482913', '7351'] });
  });

  it('reads the visible text of an HTML-only message', async () => {
    const id = await send(mailroom, {
      subject: 'HTML code',
      text: undefined,
      html: '<style>.code{letter-spacing:4px;width:1200px}</style><p>Your code:</p><div class="code">90 21 33</div><div class="code">552211</div>',
    });
    expect((await api(mailroom, `/api/messages/${id}/codes`)).body).toStrictEqual({ codes: ['552211'] });
  });

  it('takes a pattern, returning its first capture group when it has one', async () => {
    const id = await send(mailroom, { subject: 'Codes', text: 'Code: AB-12-CD\nCode: XY-34-ZZ\nLink: https://x.example.test/?t=tok_5f3a' });
    const group = await api(mailroom, `/api/messages/${id}/codes?pattern=${encodeURIComponent('Code: ([A-Z]{2}-\\d{2}-[A-Z]{2})')}`);
    expect(group.body).toStrictEqual({ codes: ['AB-12-CD', 'XY-34-ZZ'] });
    const whole = await api(mailroom, `/api/messages/${id}/codes?pattern=${encodeURIComponent('[A-Z]{2}-\\d{2}')}`);
    expect(whole.body).toStrictEqual({ codes: ['AB-12', 'XY-34'] });
    const inLink = await api(mailroom, `/api/messages/${id}/codes?pattern=${encodeURIComponent('t=(tok_\\w+)')}`);
    expect(inLink.body).toStrictEqual({ codes: ['tok_5f3a'] });
  });

  it('answers 400 JSON for an invalid or overlong pattern and 404 JSON for an unknown id', async () => {
    const id = await send(mailroom, { subject: 'Codes', text: `${'a'.repeat(60)}!` });
    const invalid = await api(mailroom, `/api/messages/${id}/codes?pattern=${encodeURIComponent('(\\d+')}`);
    expect(invalid.status).toBe(400);
    expect(invalid.body).toStrictEqual({ error: 'bad_request', message: 'pattern is not a valid regular expression: missing closing ): `(\\d+`' });
    const long = await api(mailroom, `/api/messages/${id}/codes?pattern=${'a'.repeat(201)}`);
    expect(long.status).toBe(400);
    expect(long.body).toStrictEqual({ error: 'bad_request', message: 'querystring/pattern must NOT have more than 200 characters' });
    const missing = await api(mailroom, '/api/messages/nope/codes');
    expect(missing.status).toBe(404);
    expect(missing.body).toStrictEqual({ error: 'not_found', message: 'No message with id nope' });
  });
});

describe('codes with a pattern that would backtrack', () => {
  const codes = (id: string, pattern: string) => api(mailroom, `/api/messages/${id}/codes?pattern=${encodeURIComponent(pattern)}`);
  const body = `${'a'.repeat(20_000)}b`;

  it('answers (a+)+$ on a 20,000-character body at once, and correctly, never holding up other requests', async () => {
    const id = await send(mailroom, { subject: 'Long', text: body });
    await codes(id, 'z');
    const none = await whileProbing(mailroom, () => codes(id, '(a+)+$'));
    expect(none.result).toMatchObject({ status: 200, body: { codes: [] } });
    expect(none.ms).toBeLessThan(1000);
    expect(none.maxLatency).toBeLessThan(150);
    const group = await whileProbing(mailroom, () => codes(id, '(a+)+b'));
    expect(group.result).toMatchObject({ status: 200, body: { codes: ['a'.repeat(20_000)] } });
    expect(group.ms).toBeLessThan(1000);
    expect(group.maxLatency).toBeLessThan(150);
  });

  it('gives up on a pattern whose matches take quadratic time after 250 ms, off the event loop', async () => {
    const id = await send(mailroom, { subject: 'Long', text: body });
    // Each of the 20,000 matches of `a` looks to the end of the text for a `b` first.
    const slow = await whileProbing(mailroom, () => codes(id, 'a[^b]*c|a'));
    expect(slow.result).toStrictEqual({
      status: 400,
      body: { error: 'bad_request', message: 'pattern ran longer than 250 ms on this message; make it simpler' },
      headers: expect.anything(),
    });
    expect(slow.ms).toBeLessThan(2000);
    expect(slow.maxLatency).toBeLessThan(150);
    expect(slow.probes).toBeGreaterThan(5);
    // The runner starts a new thread for the next pattern.
    expect((await codes(id, 'a(b)')).body).toStrictEqual({ codes: ['b'] });
  });

  it('queues at most 64 patterns and answers 503 JSON past them, serving the rest', async () => {
    const id = await send(mailroom, { subject: 'Medium', text: 'a'.repeat(1200) });
    const answers = await Promise.all(Array.from({ length: 100 }, () => codes(id, 'a[^b]*c|a')));
    // Run (200), or over the 250 ms limit on a busy machine (400), or refused for a full queue (503).
    const ran = answers.filter((a) => a.status === 200 || (a.status === 400 && (a.body as { message: string }).message.startsWith('pattern ran longer')));
    const refused = answers.filter((a) => a.status === 503);
    expect(ran.length).toBeGreaterThanOrEqual(64);
    expect(refused.length).toBeGreaterThan(0);
    expect(ran.length + refused.length).toBe(100);
    expect(refused[0]!.body).toStrictEqual({ error: 'unavailable', message: '64 patterns are already waiting; try again shortly' });
  });

  it('answers 400 JSON naming lookbehind, lookahead or a backreference', async () => {
    const id = await send(mailroom, { subject: 'Code', text: 'Code: 123456 123456' });
    const why = 'which is not supported: patterns run on RE2, in time linear in the text, without lookaround or backreferences';
    for (const [pattern, what] of [
      ['(?<=Code: )\\d+', 'a lookbehind ((?<=)'],
      ['(?<!\\d)\\d{6}', 'a lookbehind ((?<!)'],
      ['\\d{6}(?= )', 'a lookahead ((?=)'],
      ['(\\d+) \\1', 'a backreference (\\1)'],
      ['(?<code>\\d+) \\k<code>', 'a backreference (\\k<name>)'],
    ]) {
      expect(await codes(id, pattern!)).toMatchObject({ status: 400, body: { error: 'bad_request', message: `pattern uses ${what}, ${why}` } });
    }
    expect((await codes(id, 'Code: (\\d+)')).body).toStrictEqual({ codes: ['123456'] });
  });
});

describe('attachment hashes', () => {
  it('gives each attachment the SHA-256 of its decoded content, and documents it', async () => {
    const pdf = Buffer.from('%PDF-1.4\n' + 'binary \x00\xff\x10 '.repeat(100), 'latin1');
    const image = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const id = await send(mailroom, {
      subject: 'hashes',
      html: '<img src="cid:logo@x">',
      attachments: [
        { filename: 'report.pdf', content: pdf },
        { filename: 'notes.txt', content: 'plain text, ünïcode', contentTransferEncoding: 'quoted-printable' },
        { filename: 'logo.png', content: image, cid: 'logo@x' },
      ],
    });
    const sha256 = (content: Buffer | string): string => createHash('sha256').update(content).digest('hex');
    const { body } = await api<{ attachments: { filename: string; size: number; sha256: string }[] }>(mailroom, `/api/messages/${id}`);
    expect(body.attachments.map(({ filename, size, sha256: hash }) => ({ filename, size, sha256: hash }))).toStrictEqual([
      // The inline image sits with the HTML in multipart/related, ahead of the attachments.
      { filename: 'logo.png', size: image.length, sha256: sha256(image) },
      { filename: 'report.pdf', size: pdf.length, sha256: sha256(pdf) },
      { filename: 'notes.txt', size: 21, sha256: sha256(Buffer.from('plain text, ünïcode')) },
    ]);

    const spec = await api<{ paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: unknown }> }> } }> }>(
      mailroom,
      '/api/openapi.json',
    );
    const detail = spec.body.paths['/api/messages/{id}']!.get.responses['200']!.content['application/json']!.schema as {
      properties: { attachments: { items: { properties: Record<string, unknown>; required: string[] } } };
    };
    expect(detail.properties.attachments.items.properties.sha256).toStrictEqual({
      type: 'string',
      pattern: '^[0-9a-f]{64}$',
      description: 'SHA-256 of the decoded content, lower-case hex',
    });
    expect(detail.properties.attachments.items.required).toContain('sha256');
  });
});
