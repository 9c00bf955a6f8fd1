import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { digestMessage, searchText } from '../../server/src/mime/digest.js';
import { findPart } from '../../server/src/mime/find-part.js';
import { indexMessage, MAX_MIME_DEPTH, MAX_MIME_PARTS, type MimePart } from '../../server/src/mime/part-index.js';
import { cpuTime } from '../helpers/cpu-time.js';

const crlf = (text: string): Buffer => Buffer.from(text.replace(/\n/g, '\r\n'));

/** Section, type and body text of every part, for compact assertions. */
function outline(raw: Buffer, part: MimePart): unknown[] {
  const body = raw.toString('latin1', part.bodyStart, part.bodyEnd);
  const own = [part.section, `${part.type}/${part.subtype}`, part.children.length || part.message ? null : body];
  return [own, ...part.children.map((c) => outline(raw, c)), ...(part.message ? [outline(raw, part.message)] : [])];
}

describe('MIME part index', () => {
  it('numbers parts as IMAP sections, through message/rfc822', () => {
    const raw = crlf(`Content-Type: multipart/mixed; boundary=outer

preamble
--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain

plain
--inner
Content-Type: text/html

<b>html</b>
--inner--
--outer
Content-Type: message/rfc822

Subject: forwarded
Content-Type: multipart/mixed; boundary=fwd

--fwd

forwarded text
--fwd
Content-Type: image/png
Content-Transfer-Encoding: base64

iVBORw==
--fwd--
--outer--
epilogue
`);
    const { root, truncated } = indexMessage(raw);
    expect(truncated).toBe(false);
    expect(outline(raw, root)).toStrictEqual([
      ['', 'multipart/mixed', null],
      [['1', 'multipart/alternative', null], [['1.1', 'text/plain', 'plain']], [['1.2', 'text/html', '<b>html</b>']]],
      [
        ['2', 'message/rfc822', null],
        [['2', 'multipart/mixed', null], [['2.1', 'text/plain', 'forwarded text']], [['2.2', 'image/png', 'iVBORw==']]],
      ],
    ]);
    expect(findPart(root, '2.2')?.type).toBe('image');
    expect(findPart(root, '1.2')?.subtype).toBe('html');
    expect(findPart(root, '1.1.1')).toBeNull();
    expect(findPart(root, '3')).toBeNull();
    expect(findPart(root, '0')).toBeNull();
    const header = findPart(root, '2')!;
    expect(raw.toString('latin1', header.headerStart, header.bodyStart)).toBe('Content-Type: message/rfc822\r\n\r\n');
  });

  it('gives a single-part message the part number 1', () => {
    const raw = crlf('Subject: x\n\nbody\n');
    const { root } = indexMessage(raw);
    expect([root.section, root.type, root.subtype, root.bodyStart, root.bodyEnd]).toStrictEqual(['1', 'text', 'plain', 14, raw.length]);
    expect(findPart(root, '1')).toBe(root);
  });

  it('repairs a missing close delimiter and a boundary that never appears', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n');
    expect(outline(raw, indexMessage(raw).root)).toStrictEqual([['', 'multipart/mixed', null], [['1', 'text/plain', 'one']], [['2', 'text/plain', 'two\r\n']]]);
    const never = crlf('Content-Type: multipart/mixed; boundary=zz\n\njust text\n');
    const { root } = indexMessage(never);
    expect([root.children.length, digestMessage(never).snippet]).toStrictEqual([0, '']);
  });

  it('reads bare LF mail, RFC 2231 and RFC 2047 filenames, and digests default to message/rfc822', () => {
    const raw = Buffer.from(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\n\nx\n--b\nContent-Type: application/pdf; name=\"=?UTF-8?Q?caf=C3=A9.pdf?=\"\n\ny\n--b\nContent-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: inner\n\ninner body\n--d--\n--b--\n",
    );
    const { root } = indexMessage(raw);
    expect(root.children.map((c) => c.filename)).toStrictEqual(['résumé.pdf', 'café.pdf', null]);
    const digestPart = findPart(root, '3.1')!;
    expect([digestPart.type, digestPart.subtype, digestPart.message?.section]).toStrictEqual(['message', 'rfc822', '3.1.1']);
  });

  it('caps nesting depth and part count, and says so', () => {
    let nested = 'Subject: deep\r\n';
    for (let i = 0; i < 200; i++) nested += `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n`;
    nested += '\r\ncore\r\n';
    const deep = indexMessage(Buffer.from(nested));
    expect(deep.truncated).toBe(true);
    let depth = 0;
    for (let part: MimePart | undefined = deep.root; part; part = part.children[0]) depth += 1;
    expect(depth).toBe(MAX_MIME_DEPTH + 1);

    const many = Buffer.from(`Content-Type: multipart/mixed; boundary=m\r\n\r\n${'--m\r\n\r\nx\r\n'.repeat(50_000)}--m--\r\n`);
    const wide = indexMessage(many);
    expect(wide.truncated).toBe(true);
    expect(wide.root.children.length).toBe(MAX_MIME_PARTS - 1);
  });

  it('indexes in linear time: 4x the parts take well under 16x the time', () => {
    const build = (n: number) => Buffer.from(`Content-Type: multipart/mixed; boundary=m\r\n\r\n${'--m\r\nContent-Type: text/plain\r\n\r\nsome text here\r\n'.repeat(n)}--m--\r\n`);
    // The best of several rounds, so a busy machine does not fake a quadratic step.
    const time = (raw: Buffer) => {
      let best = Infinity;
      for (let round = 0; round < 5; round++) {
        const started = performance.now();
        indexMessage(raw);
        best = Math.min(best, performance.now() - started);
      }
      return best;
    };
    time(build(2000));
    const small = time(build(2000));
    const large = time(build(8000));
    expect(large / small).toBeLessThan(10);
  });

  it('stays fast when no part has an empty line after its header', () => {
    const raw = Buffer.from(`Content-Type: multipart/mixed; boundary=m\r\n\r\n${'--m\r\nContent-Type: text/plain\r\n'.repeat(20_000)}--m--\r\n`);
    const { result: { root }, ms } = cpuTime(() => indexMessage(raw));
    expect(root.children.length).toBe(MAX_MIME_PARTS - 1);
    expect(root.children[0]!.bodyStart - root.children[0]!.headerStart).toBe('Content-Type: text/plain\r\n'.length);
    expect(ms).toBeLessThan(1000);
  });

  it('never throws on mutated or truncated mail', () => {
    const base = crlf(
      'From: a@b.c\nContent-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\ncaf=E9\n--q\nContent-Type: message/rfc822\n\nSubject: in\n\nx\n--q--\n',
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length), fc.integer({ min: 0, max: 255 })), { maxLength: 20 }), fc.nat(base.length), (edits, cut) => {
        const raw = Buffer.from(base);
        for (const [at, byte] of edits) raw[at] = byte;
        const digest = digestMessage(raw.subarray(0, cut));
        expect(typeof digest.snippet).toBe('string');
        expect(typeof searchText(raw, digest.textPart)).toBe('string');
      }),
      { numRuns: 500 },
    );
  });
});

describe('message digest', () => {
  it('decodes charsets and transfer encodings for the snippet, and classifies attachments', () => {
    const raw = crlf(`From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.com>
To: "Team" <team@example.com>, solo@example.com
Subject: =?ISO-2022-JP?B?GyRCJEskWyRzJDQbKEI=?=
Date: Tue, 24 Nov 2026 08:00:00 +0000 (UTC)
Content-Type: multipart/related; boundary=r

--r
Content-Type: text/html; charset=windows-1252
Content-Transfer-Encoding: quoted-printable

<html><head><style>p{}</style></head><p>Caf=E9 &amp; cr=E8me</p><script>x()</script></html>
--r
Content-Type: image/png
Content-ID: <logo@x>
Content-Transfer-Encoding: base64

iVBORw==
--r
Content-Type: application/zip; name=a.zip

PK
--r--
`);
    const digest = digestMessage(raw);
    expect(digest.from).toStrictEqual({ name: 'André', address: 'andre@example.com' });
    expect(digest.to).toStrictEqual([
      { name: 'Team', address: 'team@example.com' },
      { name: '', address: 'solo@example.com' },
    ]);
    expect(digest.subject).toBe('にほんご');
    expect(digest.date).toBe(Date.UTC(2026, 10, 24, 8));
    expect(digest.snippet).toBe('Café & crème');
    expect(searchText(raw, digest.textPart)).toBe('Café & crème');
    expect(digest.attachments.map((a) => [a.partId, a.contentType, a.disposition, a.filename])).toStrictEqual([
      ['2', 'image/png', 'inline', null],
      ['3', 'application/zip', 'attachment', 'a.zip'],
    ]);
  });

  it('strips hostile HTML for the snippet in linear time', () => {
    const hostile = `Content-Type: text/html\r\n\r\n${'<script'.repeat(30_000)}${'<'.repeat(100_000)}`;
    const raw = Buffer.from(hostile);
    const { result, ms } = cpuTime(() => searchText(raw, digestMessage(raw).textPart));
    expect(result).toBe('');
    expect(ms).toBeLessThan(500);
  });
});
