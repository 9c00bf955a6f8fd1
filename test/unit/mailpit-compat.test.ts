import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { MailpitFacts } from '../../server/src/api/compat/mailpit/facts.js';
import { mailpitRoutes } from '../../server/src/api/compat/mailpit/routes.js';
import { decodeGoStruct } from '../../server/src/api/compat/mailpit/go-decode.js';
import { goHeaderJson } from '../../server/src/api/compat/mailpit/go-header.js';
import { linkInlineImages } from '../../server/src/api/compat/mailpit/inline-images.js';
import { listUnsubscribe } from '../../server/src/api/compat/mailpit/list-unsubscribe.js';
import { messageDate } from '../../server/src/api/compat/mailpit/message-date.js';
import { enmimeView, type EnmimePart } from '../../server/src/api/compat/mailpit/parts.js';
import { digestMessage } from '../../server/src/mime/digest.js';
import { findPart } from '../../server/src/mime/find-part.js';
import { MessageStore } from '../../server/src/store/message-store.js';

const READ_STATUS = [
  { name: 'Read', kind: 'bool' },
  { name: 'IDs', kind: '[]string' },
  { name: 'Search', kind: 'string' },
] as const;
const READ_STATUS_TYPE = 'struct { Read bool; IDs []string; Search string }';
const decode = (body: string) => decodeGoStruct(Buffer.from(body, 'latin1'), READ_STATUS, READ_STATUS_TYPE);

describe("request bodies read as Go's json.Decoder reads them", () => {
  it('matches field names case-insensitively, skips unknown fields and ignores what follows the value', () => {
    expect(decode('{"read":true,"ids":["a","b"],"other":{"x":[1]}} trailing garbage')).toStrictEqual({ ok: true, fields: { Read: true, IDs: ['a', 'b'] } });
    expect(decode('{"IDs":null,"Search":null,"Read":null}')).toStrictEqual({ ok: true, fields: {} });
    expect(decode('null')).toStrictEqual({ ok: true, fields: {} });
    expect(decode('{"IDs":["a",null]}')).toStrictEqual({ ok: true, fields: { IDs: ['a', ''] } });
  });

  it("answers Go's errors, word for word", () => {
    const errors: [string, string][] = [
      ['', 'EOF'],
      [' \r\n\t', 'EOF'],
      ['{', 'unexpected EOF'],
      ['{"IDs":["a"', 'unexpected EOF'],
      ['tru', 'unexpected EOF'],
      ['-', 'unexpected EOF'],
      ['x', "invalid character 'x' looking for beginning of value"],
      ['{"a" 1}', "invalid character '1' after object key"],
      ['{"a":1 "b":2}', `invalid character '"' after object key:value pair`],
      ['{1:2}', "invalid character '1' looking for beginning of object key string"],
      ['[1,]', "invalid character ']' looking for beginning of value"],
      ['[1 2]', "invalid character '2' after array element"],
      ['trux', "invalid character 'x' in literal true (expecting 'e')"],
      ['"a\u0001"', "invalid character '\\x01' in string literal"],
      ['"a\nb"', "invalid character '\\n' in string literal"],
      ['"\\q"', "invalid character 'q' in string escape code"],
      ['"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"],
      ['-x', "invalid character 'x' in numeric literal"],
      ['1.x', "invalid character 'x' after decimal point in numeric literal"],
      ['1ex', "invalid character 'x' in exponent of numeric literal"],
      ['{"Read":\'yes\'}', "invalid character '\\'' looking for beginning of value"],
      ['\u00e9', "invalid character 'é' looking for beginning of value"],
      ['{"IDs":"a"}', 'json: cannot unmarshal string into Go struct field .IDs of type []string'],
      ['{"IDs":[1]}', 'json: cannot unmarshal number into Go struct field .IDs of type string'],
      ['{"Read":"true"}', 'json: cannot unmarshal string into Go struct field .Read of type bool'],
      ['{"search":{}}', 'json: cannot unmarshal object into Go struct field .Search of type string'],
      ['[]', `json: cannot unmarshal array into Go value of type ${READ_STATUS_TYPE}`],
      ['"ids"', `json: cannot unmarshal string into Go value of type ${READ_STATUS_TYPE}`],
      ['[[[[[[[[[[', 'unexpected EOF'],
    ];
    for (const [body, error] of errors) expect(decode(body), JSON.stringify(body)).toStrictEqual({ ok: false, error });
    expect(decode('['.repeat(10_001))).toStrictEqual({ ok: false, error: 'exceeded max depth' });
  });
});

describe("headers read as Go's net/mail reads them", () => {
  const json = (text: string) => goHeaderJson(Buffer.from(text, 'utf8'));

  it('canonicalises names, sorts them, unfolds values and keeps repeated fields in order', () => {
    const header = json(
      'message-ID: <a@b>\r\nMIME-Version: 1.0\r\nx-MAILER: m\r\nReceived: one\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\n   folded   \r\n\tagain\r\nReceived:  two\r\nDKIM-Signature: v=1\r\nSubject : spaced\r\n\r\nbody: not a header\r\n',
    );
    expect(header).toStrictEqual({
      ok: true,
      json:
        '{"Dkim-Signature":["v=1"],"Message-Id":["\\u003ca@b\\u003e"],"Mime-Version":["1.0"],"Received":["one","two"],"Subject":["=?UTF-8?Q?caf=C3=A9?= folded again"],"Subject ":["spaced"],"X-Mailer":["m"]}\n',
    });
    expect(json('To: x@y\n\nbody')).toStrictEqual({ ok: true, json: '{"To":["x@y"]}\n' });
    expect(json('To: header only, no body')).toStrictEqual({ ok: true, json: '{"To":["header only, no body"]}\n' });
    expect(json('\r\nbody')).toStrictEqual({ ok: true, json: '{}\n' });
  });

  it("refuses what Go refuses, with Go's error", () => {
    expect(json('')).toStrictEqual({ ok: false, error: 'EOF' });
    expect(json('To: a\r\ngarbage line\r\n\r\n')).toStrictEqual({ ok: false, error: 'malformed MIME header: missing colon: "garbage line"' });
    expect(json('Bad@Name: x\r\n\r\n')).toStrictEqual({ ok: false, error: 'malformed MIME header line: Bad@Name: x' });
    expect(json('X: a\u0001b\r\n\r\n')).toStrictEqual({ ok: false, error: 'malformed MIME header line: X: a\u0001b' });
    expect(json(' To: x\r\n\r\n')).toStrictEqual({ ok: false, error: 'malformed MIME header initial line:  To: x' });
    expect(json(` ${'x'.repeat(100)}\r\n`)).toStrictEqual({ ok: false, error: 'message too large' });
  });
});

describe('List-Unsubscribe as Mailpit checks it', () => {
  const links = (header: string) => listUnsubscribe(header, '');

  it('lists one mailto: and one http(s) link and says what is wrong, in its words', () => {
    expect(listUnsubscribe('<mailto:u@x.test>, <https://x.test/u>', 'List-Unsubscribe=One-Click')).toStrictEqual({
      Header: '<mailto:u@x.test>, <https://x.test/u>',
      Links: ['mailto:u@x.test', 'https://x.test/u'],
      Errors: '',
      HeaderPost: 'List-Unsubscribe=One-Click',
    });
    expect(links('')).toStrictEqual({ Header: '', Links: [], Errors: '', HeaderPost: '' });
    expect(links('(Comment) <mailto:u@x.test> (more)').Links).toStrictEqual(['mailto:u@x.test']);
    expect(links('<https://a.test>,<HTTP://b.test>')).toMatchObject({ Links: ['https://a.test'], Errors: '"HTTP://b.test" should only contain one HTTP link' });
    expect(links('mailto:u@x.test').Errors).toBe('"mailto:u@x.test" no valid unsubscribe links found');
    expect(links('<mailto:u@x.test> please')).toMatchObject({ Links: [], Errors: '"<mailto:u@x.test> please" should be enclosed in <>' });
    expect(links('<mailto:u@x.test>; <https://x.test>').Errors).toBe('"<mailto:u@x.test>; <https://x.test>" <> should be split with a comma and optional spaces');
    expect(links('<a>, <b>, <c>').Errors).toBe('"<a>, <b>, <c>" should include a maximum of one email and one HTTP link');
    expect(links('<ftp://x.test>, <https://x.test/a b>')).toMatchObject({
      Links: [],
      Errors: '"ftp://x.test" should start with either http(s):// or mailto:, "https://x.test/a b" should not contain spaces',
    });
  });

  it('takes linear time on a hostile header', () => {
    const started = performance.now();
    links(`${'<'.repeat(300_000)}${'('.repeat(300_000)}>`);
    links(`<${'>x<'.repeat(100_000)}>`);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe("the Date of Mailpit's message detail", () => {
  const received = Date.UTC(2026, 0, 2, 3, 4, 5, 60);

  it("keeps the header's own offset, as Go's net/mail reads it", () => {
    expect(messageDate('Wed, 01 May 2024 10:00:00 +0200', received)).toBe('2024-05-01T10:00:00+02:00');
    expect(messageDate('Wed, 1 May 2024 10:00:00 +0000 (UTC)', received)).toBe('2024-05-01T10:00:00Z');
    expect(messageDate('1 May 24 09:05 -0530', received)).toBe('2024-05-01T09:05:00-05:30');
    expect(messageDate('1 May 99 09:05:07 -0000', received)).toBe('1999-05-01T09:05:07Z');
    // A zone Go only knows by name is taken at offset 0, the clock as written.
    expect(messageDate('Wed, 01 May 2024 10:00:00 EST', received)).toBe('2024-05-01T10:00:00Z');
  });

  it('falls back to the receive time for a date Go cannot parse, or none', () => {
    for (const bad of [undefined, 'yesterday', '2024-05-01T10:00:00Z', 'Wed, 31 Apr 2024 10:00:00 +0000', 'Wed, 01 May 2024 10:00:00']) {
      expect(messageDate(bad, received), String(bad)).toBe('2026-01-02T03:04:05.06Z');
    }
  });
});

describe("cid: links rewritten as Mailpit's /view page does", () => {
  const part = (partId: string, contentId: string): EnmimePart => ({ partId, contentId, fileName: '', contentType: 'image/png', disposition: 'inline', part: null as never });

  it('rewrites =cid:, ="cid: and =\'cid: followed by one of its terminators, and nothing else', () => {
    const parts = [part('1.2', 'Logo@X'), part('3', 'other')];
    expect(linkInlineImages('<img src="cid:logo@x"><img src=\'CID:LOGO@X\'><img src=cid:logo@x>', 'M1', parts)).toBe(
      '<img src="/api/v1/message/M1/part/1.2"><img src=\'/api/v1/message/M1/part/1.2\'><img src=/api/v1/message/M1/part/1.2>',
    );
    // Its class holds `\\s` in a raw string: a backslash and the letter s, not white space.
    expect(linkInlineImages('<img src=cid:logo@x alt=""> <img src="cid:logo@xy"> url(cid:logo@x) a=cid:logo@xs', 'M1', parts)).toBe(
      '<img src=cid:logo@x alt=""> <img src="cid:logo@xy"> url(cid:logo@x) a=/api/v1/message/M1/part/1.2s',
    );
    expect(linkInlineImages('<img src="cid:other">', 'M1', [])).toBe('<img src="cid:other">');
  });
});

describe("enmime's part ids", () => {
  const fixtures = join(import.meta.dirname, '../fixtures/mime');

  it('name the same part as the IMAP section number for every part Mailpit lists, across the MIME fixtures', () => {
    let compared = 0;
    for (const name of readdirSync(fixtures).filter((file) => file.endsWith('.eml'))) {
      const { root } = digestMessage(readFileSync(join(fixtures, name)));
      const view = enmimeView(root);
      for (const listed of [...view.attachments, ...view.inlines, ...view.others]) {
        if (listed.partId === '0') {
          // enmime's top entity: the body of a single-part message, which IMAP calls 1.
          expect(listed.part, name).toBe(root);
          expect(root.type === 'multipart' || findPart(root, '1') === root, name).toBe(true);
        } else {
          expect(findPart(root, listed.partId), `${name} ${listed.partId}`).toBe(listed.part);
          compared += 1;
        }
      }
    }
    expect(compared).toBeGreaterThan(20);
  });

  it("do not reach into an attached message, which is one part to enmime, and sort parts enmime's way", () => {
    const raw = [
      'Content-Type: multipart/mixed; boundary=o',
      '',
      '--o',
      'Content-Type: multipart/related; boundary=r',
      '',
      '--r',
      'Content-Type: multipart/alternative; boundary=a',
      '',
      '--a',
      'Content-Type: text/plain',
      '',
      'text',
      '--a',
      'Content-Type: text/html',
      '',
      '<p>html</p>',
      '--a--',
      '--r',
      'Content-Type: image/gif',
      'Content-ID: <%3Cpix%3E+1>',
      '',
      'GIF',
      '--r--',
      '--o',
      'Content-Type: message/rfc822',
      'Content-Disposition: attachment; filename=fwd.eml',
      '',
      'Content-Type: multipart/mixed; boundary=i',
      '',
      '--i',
      'Content-Type: application/pdf; name=inner.pdf',
      '',
      'PDF',
      '--i--',
      '--o',
      'Content-Type: application/octet-stream',
      'Content-Disposition: inline; file=x',
      '',
      'BIN',
      '--o--',
      '',
    ].join('\r\n');
    const view = enmimeView(digestMessage(Buffer.from(raw)).root);
    const ids = (list: EnmimePart[]) => list.map((p) => `${p.partId} ${p.contentType} ${p.fileName}|${p.contentId}`);
    expect(ids(view.attachments)).toStrictEqual(['2 message/rfc822 fwd.eml|', '3 application/octet-stream |']);
    expect(ids(view.inlines)).toStrictEqual(['3 application/octet-stream |']);
    // No disposition, not text: an "other part"; its Content-ID URL-unescaped as enmime does.
    expect(ids(view.others)).toStrictEqual(['1.2 image/gif |<pix> 1']);
    expect(view.textParts.map((p) => p.section)).toStrictEqual(['1.1.1']);
    expect(view.htmlPart?.section).toBe('1.1.2');
  });

  it('take a single-part message as its top entity, part 0', () => {
    const pdf = enmimeView(digestMessage(Buffer.from('Content-Type: application/pdf\r\n\r\nPDF')).root);
    expect(pdf.attachments.map((p) => p.partId)).toStrictEqual(['0']);
    const text = enmimeView(digestMessage(Buffer.from('Subject: x\r\n\r\nhello')).root);
    expect([text.attachments.length, text.textParts.length, text.htmlPart]).toStrictEqual([0, 1, null]);
  });
});

describe('summary facts', () => {
  it("cut the snippet at 200 bytes as Go's truncate does, with ...", async () => {
    const store = new MessageStore({ maxMessages: 10, maxBytes: 1e6 });
    const facts = new MailpitFacts(store, { factsBytes: 1e6, textBytes: 1e6 });
    const add = (body: string) =>
      store.add({ raw: Buffer.from(`Subject: s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}`), envelope: { mailFrom: '', rcptTo: [] }, smtp: { helo: null, remoteAddress: null, authUser: null, tls: false } });
    expect(facts.of(await add('short   and\r\n spaced')).snippet).toBe('short and spaced');
    expect(facts.of(await add('a'.repeat(300))).snippet).toBe(`${'a'.repeat(200)}...`);
    // 'é' is two bytes: 199 a's and an é end on byte 201, so the é goes.
    expect(facts.of(await add(`${'a'.repeat(199)}é${'b'.repeat(50)}`)).snippet).toBe(`${'a'.repeat(199)}...`);
    // Go backs off a character that ends exactly on the boundary too.
    expect(facts.of(await add(`${'a'.repeat(198)}é${'b'.repeat(50)}`)).snippet).toBe(`${'a'.repeat(198)}...`);
  });
});

describe('probes and runtime stats', () => {
  it('answers /readyz 503 until every listener is up, and counts what the store accepted and dropped', async () => {
    const store = new MessageStore({ maxMessages: 2, maxBytes: 1e6 });
    let up = false;
    const app = Fastify();
    await app.register(mailpitRoutes, { store, version: '9.9.9', listeners: () => [{ name: 'smtp', port: 1025, listening: up }], compat: 'mailpit', maxMessageSize: 25 * 1024 * 1024 });
    const down = await app.inject('/readyz');
    expect([down.statusCode, down.headers['content-type'], down.body]).toStrictEqual([503, 'text/plain; charset=utf-8', 'Service Unavailable\n']);
    up = true;
    const ready = await app.inject('/readyz');
    expect([ready.statusCode, ready.headers['content-type'], ready.body]).toStrictEqual([200, undefined, '']);
    const add = () => store.add({ raw: Buffer.from('Subject: s\r\n\r\nx\r\n'), envelope: { mailFrom: '', rcptTo: [] }, smtp: { helo: null, remoteAddress: null, authUser: null, tls: false } });
    const first = await add();
    await add();
    await add(); // evicts the first
    await store.delete([first.id, store.all()[0]!.id]);
    await store.clear();
    const info = (await app.inject('/api/v1/info')).json<{ Version: string; Messages: number; RuntimeStats: Record<string, number> }>();
    expect([info.Version, info.Messages]).toStrictEqual(['9.9.9', 0]);
    expect(info.RuntimeStats).toMatchObject({ SMTPAccepted: 3, SMTPAcceptedSize: 3 * 17, MessagesDeleted: 3 });
    await app.close();
  });
});
