import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import { unzipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { installErrorHandlers } from '../../server/src/api/errors.js';
import { exportRoutes } from '../../server/src/api/routes/export.js';
import { BodyTexts } from '../../server/src/search/body-texts.js';
import { MessageStore } from '../../server/src/store/message-store.js';
import { api, useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

const mailroom = await useMailroom();
const dir = await mkdtemp(join(tmpdir(), 'mailroom-export-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const SUBJECT = 'Export: report <Q3> & "numbers" / 2026 — ünïcode';

async function download(query: string): Promise<{ response: Response; zip: Buffer }> {
  const response = await fetch(`${mailroom.apiUrl}/api/messages/export?query=${encodeURIComponent(query)}`);
  return { response, zip: Buffer.from(await response.arrayBuffer()) };
}

/** The archive as Python's zipfile reads it: an independent reader, CRCs checked. */
async function pythonEntries(zip: Buffer): Promise<{ name: string; sha256: string; method: number }[]> {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.zip`);
  await writeFile(file, zip);
  const script = [
    'import hashlib, json, sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    'assert z.testzip() is None',
    'print(json.dumps([{"name": i.filename, "sha256": hashlib.sha256(z.read(i)).hexdigest(), "method": i.compress_type} for i in z.infolist()]))',
  ].join('\n');
  const { stdout } = await promisify(execFile)('python3', ['-c', script, file]);
  return JSON.parse(stdout) as { name: string; sha256: string; method: number }[];
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

describe('export', () => {
  it('zips the matching messages as .eml, exact bytes, plus standalone .html, oldest first', async () => {
    const first = await send(mailroom, {
      subject: SUBJECT,
      text: 'See the chart.',
      html: '<html><head><style>p{color:#333}</style></head><body><p>Chart:</p><img src="cid:chart@x"><script>alert(1)</script></body></html>',
      textEncoding: 'quoted-printable',
      attachments: [{ filename: 'chart.png', content: PNG, cid: 'chart@x' }],
    });
    const second = await send(mailroom, { subject: 'Export plain', text: 'No HTML here.' });
    await send(mailroom, { subject: 'Left out', html: '<p>other</p>' });

    const { response, zip } = await download('subject:export');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/zip');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="mailroom-export.zip"');

    const name = async (id: string, subject: string): Promise<string> => {
      const { body } = await api<{ receivedAt: string }>(mailroom, `/api/messages/${id}`);
      return `${body.receivedAt.replace(/:/g, '-')}-${id}-${subject}`;
    };
    const firstName = await name(first, 'Export_ report _Q3_ & _numbers_ _ 2026 — ünïcode');
    const secondName = await name(second, 'Export plain');
    const files = unzipSync(zip);
    expect(Object.keys(files)).toStrictEqual([`${firstName}.eml`, `${firstName}.html`, `${secondName}.eml`]);

    for (const [id, entry] of [[first, `${firstName}.eml`], [second, `${secondName}.eml`]] as const) {
      const raw = Buffer.from(await (await fetch(`${mailroom.apiUrl}/api/messages/${id}/raw`)).arrayBuffer());
      expect(Buffer.from(files[entry]!).equals(raw)).toBe(true);
    }

    const html = Buffer.from(files[`${firstName}.html`]!).toString('utf8');
    expect(html.startsWith('\uFEFF<!DOCTYPE html>\n<meta charset="utf-8">\n<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; img-src data:;')).toBe(true);
    expect(html).toContain('<title>Export: report &lt;Q3&gt; &amp; &quot;numbers&quot; / 2026 — ünïcode</title>');
    expect(html).toContain('<div><b>Subject:</b> Export: report &lt;Q3&gt; &amp; &quot;numbers&quot; / 2026 — ünïcode</div>');
    expect(html).toContain('<div><b>From:</b> app@example.com</div>');
    expect(html).toContain('<div><b>To:</b> user@example.com</div>');
    expect(html).toContain(`<img src="data:image/png;base64,${PNG.toString('base64')}">`);
    expect(html).not.toContain('cid:');

    // Python reads the same entries, names (UTF-8 flagged) and contents, all deflated.
    const expected = Object.entries(files).map(([entry, data]) => ({ name: entry, sha256: sha256(data), method: 8 }));
    expect(await pythonEntries(zip)).toStrictEqual(expected);
  });

  it('is not taken for a message id, which routes under /messages/:id still are', async () => {
    const routed = await api(mailroom, '/api/messages/export/links');
    expect(routed.status).toBe(404);
    expect(routed.body).toStrictEqual({ error: 'not_found', message: 'No message with id export' });
  });

  it('answers a valid empty zip when nothing matches', async () => {
    const { response, zip } = await download('subject:"no such subject anywhere"');
    expect(response.status).toBe(200);
    expect(zip.length).toBe(22);
    expect(unzipSync(zip)).toStrictEqual({});
    expect(await pythonEntries(zip)).toStrictEqual([]);
  });

  it('answers 400 JSON for a bad query', async () => {
    const bad = await api<{ error: string }>(mailroom, '/api/messages/export?query=before:yesterday');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('bad_request');
  });
});

describe('export limits', () => {
  const smtp = { helo: null, remoteAddress: null, authUser: null, tls: false };
  const envelope = { mailFrom: 'a@x.test', rcptTo: ['b@x.test'] };

  async function limitedApp(maxMessages: number, maxBytes: number) {
    const store = new MessageStore({ maxMessages: 100, maxBytes: 1e7 });
    for (const subject of ['one', 'two', 'three']) {
      await store.add({ raw: Buffer.from(`Subject: ${subject}\r\n\r\n${subject} body\r\n`), envelope, smtp });
    }
    const texts = new BodyTexts(store, 1e6);
    const app = Fastify();
    installErrorHandlers(app);
    await app.register(exportRoutes, { prefix: '/api', store, texts, maxMessages, maxBytes });
    return app;
  }

  it('answers 413 JSON past the message count or the byte budget', async () => {
    const app = await limitedApp(2, 1000);
    const many = await app.inject('/api/messages/export');
    expect(many.statusCode).toBe(413);
    expect(many.json()).toStrictEqual({ error: 'payload_too_large', message: '3 messages match; an export holds at most 2: narrow the query' });
    const two = await app.inject('/api/messages/export?query=-subject:one');
    expect(two.statusCode).toBe(200);
    expect(Object.keys(unzipSync(two.rawPayload)).map((n) => n.replace(/^.*-/, ''))).toStrictEqual(['two.eml', 'three.eml']);
    await app.close();

    const small = await limitedApp(10, 50);
    const big = await small.inject('/api/messages/export?query=-subject:one');
    expect(big.statusCode).toBe(413);
    expect(big.json()).toStrictEqual({
      error: 'payload_too_large',
      message: 'The matching messages hold 56 bytes; an export holds at most 50: narrow the query',
    });
    await small.close();
  });
});
