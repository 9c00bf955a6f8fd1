import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { api, useMailroom } from '../helpers/mailroom.js';

const mailroom = await useMailroom();
const fixture = (name: string): Buffer => readFileSync(fileURLToPath(new URL(`../fixtures/mime/${name}`, import.meta.url)));

async function sendRaw(raw: Buffer): Promise<string> {
  const transport = nodemailer.createTransport({ host: mailroom.host, port: mailroom.ports.smtp, ignoreTLS: true });
  const info = await transport.sendMail({ envelope: { from: 'a@example.test', to: ['b@example.test'] }, raw });
  return /queued as (\S+)/.exec(info.response)![1]!;
}

interface Node {
  partId: string;
  contentType: string;
  size: number;
  lines: number;
  filename: string | null;
  headers: { name: string; value: string }[];
  children: Node[];
}
const outline = (n: Node): unknown => [n.partId, n.contentType, n.size, n.lines, n.filename, n.children.map(outline)];

describe('MIME parts over HTTP', () => {
  it('serves the part tree numbered as IMAP sections, with the sizes Dovecot reports', async () => {
    const raw = fixture('python-forwarded-rfc822.eml');
    const id = await sendRaw(raw);
    const { status, body } = await api<{ truncated: boolean; root: Node }>(mailroom, `/api/messages/${id}/parts`);
    const topBody = raw.subarray(raw.indexOf('\r\n\r\n') + 4);
    expect(status).toBe(200);
    expect(body.truncated).toBe(false);
    // Sizes and line counts as in Dovecot's BODYSTRUCTURE for this fixture.
    expect(outline(body.root)).toStrictEqual([
      'TEXT', 'multipart/mixed', topBody.length, topBody.toString('latin1').split('\n').length - 1, null,
      [
        ['1', 'text/plain', 48, 1, null, []],
        ['2', 'message/rfc822', 948, 35, null, [
          ['2.TEXT', 'multipart/mixed', 639, 27, null, [
            ['2.1', 'multipart/alternative', 321, 14, null, [
              ['2.1.1', 'text/plain', 26, 1, null, []],
              ['2.1.2', 'text/html', 34, 1, null, []],
            ]],
            ['2.2', 'text/csv', 22, 1, 'data.csv', []],
          ]],
        ]],
      ],
    ]);
    expect(body.root.children[1]!.children[0]!.headers.map((h) => h.name)).toStrictEqual([
      'From', 'To', 'Subject', 'Date', 'Message-ID', 'MIME-Version', 'Content-Type',
    ]);
  });

  it("serves an HTML part with its cid: links pointing at the parts they name, only when viewed rather than downloaded", async () => {
    const raw = Buffer.from(
      [
        'From: a@example.test', 'To: b@example.test', 'Subject: cid', 'MIME-Version: 1.0', 'Content-Type: multipart/related; boundary=r', '',
        '--r', 'Content-Type: text/html; charset=iso-8859-1', 'Content-Transfer-Encoding: quoted-printable', '',
        '<p>Caf=E9</p><img src=3D"cid:Logo%40x.test"><img src=3D"cid:nowhere@x.test">', '--r', 'Content-Type: image/png', 'Content-ID: <logo@x.test>', 'Content-Transfer-Encoding: base64', '',
        'iVBORw0KGgo=', '--r--', '',
      ].join('\r\n'),
    );
    const id = await sendRaw(raw);
    const view = await fetch(`${mailroom.apiUrl}/api/messages/${id}/parts/1`);
    expect([view.status, view.headers.get('content-type'), await view.text()]).toStrictEqual([200, 'text/html; charset=utf-8', '<p>Café</p><img src="2"><img src="cid:nowhere@x.test">']);
    expect(view.headers.get('content-security-policy')).toBe("sandbox allow-same-origin; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'none'");
    const download = await fetch(`${mailroom.apiUrl}/api/messages/${id}/parts/1?download=1`);
    expect(await download.text()).toBe('<p>Café</p><img src="cid:Logo%40x.test"><img src="cid:nowhere@x.test">');
    expect(download.headers.get('content-security-policy')).toMatch(/^sandbox; default-src 'none'/);
  });

  it('serves a part decoded, inline or as a download, locked down against script', async () => {
    const id = await sendRaw(fixture('python-forwarded-rfc822.eml'));
    const csv = await fetch(`${mailroom.apiUrl}/api/messages/${id}/parts/2.2`);
    expect(csv.status).toBe(200);
    expect(await csv.text()).toBe('col1,col2\n1,2\n');
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toBe('inline; filename=data.csv');
    expect(csv.headers.get('content-security-policy')).toMatch(/^sandbox; default-src 'none'/);
    expect(csv.headers.get('x-content-type-options')).toBe('nosniff');
    const download = await fetch(`${mailroom.apiUrl}/api/messages/${id}/parts/2.2?download=1`);
    expect(download.headers.get('content-disposition')).toBe('attachment; filename=data.csv');

    const forwarded = await fetch(`${mailroom.apiUrl}/api/messages/${id}/parts/2`);
    expect(forwarded.headers.get('content-type')).toBe('message/rfc822');
    expect(forwarded.headers.get('content-disposition')).toBe('inline; filename=part-2.eml');
    expect((await forwarded.text()).startsWith('From: Carol Original <carol@example.test>\r\n')).toBe(true);

    const raw = await fetch(`${mailroom.apiUrl}/api/messages/${id}/parts/2.1.2/raw`);
    expect(await raw.text()).toBe(
      'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: 7bit\r\nMIME-Version: 1.0\r\n\r\n<p>The original <i>HTML</i>.</p>\r\n',
    );
  });

  it('answers bad part ids with JSON errors', async () => {
    const id = await sendRaw(fixture('python-forwarded-rfc822.eml'));
    expect((await api(mailroom, `/api/messages/${id}/parts/TEXT`)).body).toStrictEqual({
      error: 'bad_request',
      message: 'TEXT is a multipart container: fetch its parts, or TEXT/raw',
    });
    for (const partId of ['9', '1.1', '0', 'x', '2.9.TEXT']) {
      const response = await api<{ error: string }>(mailroom, `/api/messages/${id}/parts/${partId}`);
      expect([partId, response.status, response.body.error]).toStrictEqual([partId, 404, 'not_found']);
    }
    expect((await api(mailroom, '/api/messages/nope/parts')).status).toBe(404);
  });

  it('decodes non-UTF-8 charsets to UTF-8', async () => {
    const id = await sendRaw(fixture('charset-iso-2022-jp.eml'));
    const text = await fetch(`${mailroom.apiUrl}/api/messages/${id}/parts/1`);
    expect(await text.text()).toBe('お疲れ様です。\r\n来週の会議は月曜日の午前十時からです。\r\nよろしくお願いします。\r\n');
  });

  it('points cid: images in the HTML at their parts', async () => {
    const id = await sendRaw(fixture('nodemailer-inline-cid-image.eml'));
    const detail = await api<{ html: string; attachments: { partId: string; contentId: string }[] }>(mailroom, `/api/messages/${id}`);
    const image = detail.body.attachments.find((a) => a.contentId === 'logo@fixtures.example.test')!;
    expect(detail.body.html).toContain(`<img src="/api/messages/${id}/parts/${image.partId}" alt="logo">`);
    expect(detail.body.html).not.toContain('cid:');
    const png = await fetch(`${mailroom.apiUrl}/api/messages/${id}/parts/${image.partId}`);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect((await png.arrayBuffer()).byteLength).toBeGreaterThan(60);
  });
});
