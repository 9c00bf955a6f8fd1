import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';
import { api, clearAll, useMailroom } from '../helpers/mailroom.js';

const run = promisify(execFile);
const script = fileURLToPath(new URL('./python/smtplib_send.py', import.meta.url));
const mailroom = await useMailroom();

async function python<T>(mode: string): Promise<T> {
  const { stdout } = await run('python3', [script, String(mailroom.ports.smtp), mode]);
  return JSON.parse(stdout) as T;
}

interface Page {
  total: number;
  messages: { id: string; subject: string; from: { address: string } }[];
}

describe("SMTP with Python's smtplib", () => {
  beforeEach(() => clearAll(mailroom));

  it('stores a multipart message exactly, with UTF-8 headers decoded and the Bcc recipient in the envelope', async () => {
    const sent = await python<{ raw: string; refused: object }>('multipart');
    expect(sent.refused).toStrictEqual({});
    const raw = Buffer.from(sent.raw, 'base64');
    const page = await api<Page>(mailroom, '/api/messages');
    expect(page.body.total).toBe(1);
    const id = page.body.messages[0]!.id;
    const stored = Buffer.from(await (await fetch(`${mailroom.apiUrl}/api/messages/${id}/raw`)).arrayBuffer());
    expect(stored.equals(raw)).toBe(true);

    const detail = await api<Record<string, unknown>>(mailroom, `/api/messages/${id}`);
    expect(detail.body).toMatchObject({
      from: { name: 'Renée Dupont', address: 'renee@example.org' },
      to: [{ name: 'Łukasz', address: 'lukasz@example.org' }],
      cc: [],
      subject: 'Facture n° 42 — ça marche',
      date: '2026-11-20T08:30:00.000Z',
      attachmentCount: 1,
      snippet: 'Bonjour Łukasz, voici la facture.',
      envelope: { mailFrom: 'billing@example.org', rcptTo: ['lukasz@example.org', 'audit@example.org'] },
      text: 'Bonjour Łukasz,\nvoici la facture.\n',
      html: '<p>Bonjour <i>Łukasz</i></p>\n',
      smtp: { helo: 'python.test', remoteAddress: '127.0.0.1', authUser: null, tls: false },
    });
    const bytes = Buffer.concat(Array(8).fill(Buffer.from(Array.from({ length: 256 }, (_, i) => i))));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    expect(detail.body.attachments).toStrictEqual([
      { partId: '2', filename: 'données.bin', contentType: 'application/octet-stream', size: 2048, sha256, contentId: null, disposition: 'attachment' },
    ]);
    const attachment = await fetch(`${mailroom.apiUrl}/api/messages/${id}/attachments/2`);
    expect(attachment.headers.get('content-disposition')).toBe(`attachment; filename="donn?es.bin"; filename*=UTF-8''donn%C3%A9es.bin`);
    expect(Buffer.from(await attachment.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('keeps every message from 20 concurrent smtplib senders', async () => {
    const result = await python<{ errors: string[] }>('concurrent');
    expect(result.errors).toStrictEqual([]);
    const page = await api<Page>(mailroom, '/api/messages?limit=50');
    expect(page.body.total).toBe(20);
    expect(page.body.messages.map((m) => m.subject).sort()).toStrictEqual(Array.from({ length: 20 }, (_, i) => `thread ${i}`).sort());
    expect(new Set(page.body.messages.map((m) => m.from.address)).size).toBe(20);
  });
});
