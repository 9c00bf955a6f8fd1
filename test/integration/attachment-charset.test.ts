import { describe, expect, it } from 'vitest';
import { useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

const mailroom = await useMailroom();

/** A multipart/mixed message whose attachments carry these headers and exact bodies (8bit). */
function withAttachments(parts: readonly { type: string; body: Buffer }[]): Buffer {
  const chunks: Buffer[] = [Buffer.from('From: a@example.test\r\nTo: b@example.test\r\nSubject: charsets\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n')];
  parts.forEach((part, i) => {
    chunks.push(Buffer.from(`--b\r\nContent-Type: ${part.type}\r\nContent-Transfer-Encoding: 8bit\r\nContent-Disposition: attachment; filename=f${i}.txt\r\n\r\n`), part.body, Buffer.from('\r\n'));
  });
  chunks.push(Buffer.from('--b--\r\n'));
  return Buffer.concat(chunks);
}

describe('text attachments', () => {
  it('are served as their exact bytes with the charset they declare, else the one their bytes are in', async () => {
    const parts = [
      { type: 'text/plain', body: Buffer.from('café ✓', 'utf8') },
      { type: 'text/plain', body: Buffer.from([0x63, 0x61, 0x66, 0xe9]) },
      { type: 'text/csv; charset="ISO-8859-2"', body: Buffer.from([0x61, 0x3b, 0xb1]) },
      { type: 'text/plain; charset="utf-8 or so"', body: Buffer.from('plain ascii') },
      { type: 'text/plain; charset=us-ascii', body: Buffer.from('ascii') },
    ];
    const id = await send(mailroom, { raw: withAttachments(parts), envelope: { from: 'a@example.test', to: 'b@example.test' } });
    const served = await Promise.all(
      parts.map(async (_, i) => {
        const response = await fetch(`${mailroom.apiUrl}/api/messages/${id}/attachments/${i + 2}`);
        return { status: response.status, type: response.headers.get('content-type'), body: Buffer.from(await response.arrayBuffer()) };
      }),
    );
    expect(served).toStrictEqual([
      { status: 200, type: 'text/plain; charset=utf-8', body: parts[0]!.body },
      { status: 200, type: 'text/plain; charset=windows-1252', body: parts[1]!.body },
      { status: 200, type: 'text/csv; charset=iso-8859-2', body: parts[2]!.body },
      { status: 200, type: 'text/plain; charset=utf-8', body: parts[3]!.body },
      { status: 200, type: 'text/plain; charset=us-ascii', body: parts[4]!.body },
    ]);
  });

  it('that are not text keep their type alone', async () => {
    const raw = withAttachments([]).toString().replace('--b--', '--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=x.pdf\r\n\r\n%PDF\r\n--b--');
    const id = await send(mailroom, { raw, envelope: { from: 'a@example.test', to: 'b@example.test' } });
    const response = await fetch(`${mailroom.apiUrl}/api/messages/${id}/attachments/2`);
    expect([response.status, response.headers.get('content-type'), await response.text()]).toStrictEqual([200, 'application/pdf', '%PDF']);
  });
});
