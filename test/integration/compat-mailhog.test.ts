import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import mailhog from 'mailhog';
import type { Mailroom } from 'mailroom-catcher';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { mailroomForTest, useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';
import { SmtpWire } from '../helpers/smtp-wire.js';

/**
 * MailHog's API as its npm client and its users' own helpers see it: byte-exact JSON against a
 * response written from docs/compat-reference.md §3 (test/fixtures/compat/mailhog/), the unmodified
 * `mailhog` package over real SMTP mail, release to a second Mailroom, and the event stream.
 */

const hog = await useMailroom({ compat: 'mailhog' });
const client = mailhog({ host: '127.0.0.1', port: hog.ports.http });

interface HttpAnswer {
  status: number;
  type: string | null;
  text: string;
  bytes: Buffer;
  headers: Headers;
}

async function http(mailroom: Mailroom, path: string, init: RequestInit = {}): Promise<HttpAnswer> {
  const response = await fetch(`${mailroom.apiUrl}${path}`, init);
  const bytes = Buffer.from(await response.arrayBuffer());
  return { status: response.status, type: response.headers.get('content-type'), text: bytes.toString('utf8'), bytes, headers: response.headers };
}

/** What Go's json.Marshal (or MarshalIndent with two spaces) writes for a value already in Go's key order. */
function goMarshal(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Every path in document order with its JSON type, so that key order, nesting and types are compared at once. */
function shape(value: unknown, path = '$'): string[] {
  if (value === null) return [`${path}: null`];
  if (Array.isArray(value)) return [`${path}: array(${value.length})`, ...value.flatMap((v, i) => shape(v, `${path}[${i}]`))];
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    return [`${path}: object{${entries.map(([k]) => k).join(',')}}`, ...entries.flatMap(([k, v]) => shape(v, `${path}.${k}`))];
  }
  return [`${path}: ${typeof value}`];
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Go's time.RFC1123Z in UTC, as MailHog's Received field has it. */
const rfc1123z = (iso: string): string => new Date(iso).toUTCString().replace('GMT', '+0000');

const FIXTURE_TEXT = readFileSync(new URL('../fixtures/compat/mailhog/v2-messages.json', import.meta.url), 'utf8');
const FIXTURE_ID = 'Cx8QNnnnmTIfXRsOkKKkzsmlIPyCSvun0D0110P4Q7o=@mailhog.example';
const FIXTURE_CREATED = '2024-05-01T10:00:00.123456789Z';

interface HogMessage {
  ID: string;
  Created: string;
  Raw: { Data: string };
  [field: string]: unknown;
}

/** The recorded v2 response with the values only a live server knows (ID, Created, the date MailHog puts in Received) filled in. */
function expectedList(id: string, created: string): { total: number; count: number; start: number; items: HogMessage[] } {
  return JSON.parse(
    FIXTURE_TEXT.replaceAll(FIXTURE_ID, id).replaceAll(FIXTURE_CREATED, created).replace('Wed, 01 May 2024 10:00:00 +0000', rfc1123z(created)),
  );
}

async function sendRaw(mailroom: Mailroom, raw: string, envelope: { from: string; to: string[] }): Promise<string> {
  const transport = nodemailer.createTransport({ host: mailroom.host, port: mailroom.ports.smtp, ignoreTLS: true, name: 'client.example' });
  const info = await transport.sendMail({ envelope, raw });
  transport.close();
  return /queued as (\S+)/.exec(info.response)![1]!;
}

/** Sends the recorded message; the fixture's Raw.Data is what MailHog kept of it, DATA without the last CRLF. */
function sendFixture(mailroom: Mailroom): Promise<string> {
  const recorded = JSON.parse(FIXTURE_TEXT).items[0] as HogMessage;
  return sendRaw(mailroom, `${recorded.Raw.Data}\r\n`, { from: 'sender@example.com', to: ['bob@example.com', 'hidden@example.com'] });
}

describe('MailHog message JSON', () => {
  it('answers GET /api/v2/messages as the recorded MailHog response, byte for byte', async () => {
    const mailroom = await mailroomForTest({ compat: 'mailhog' });
    const before = Date.now();
    const id = await sendFixture(mailroom);
    const answer = await http(mailroom, '/api/v2/messages');
    expect(answer.status).toBe(200);
    expect(answer.type).toBe('text/json');
    const actual = JSON.parse(answer.text) as { items: HogMessage[] };
    const created = actual.items[0]!.Created;
    expect(created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
    expect(Date.parse(created)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(created)).toBeLessThanOrEqual(Date.now());
    const expected = expectedList(id, created);
    expect(shape(actual)).toStrictEqual(shape(expected));
    expect(actual).toStrictEqual(expected);
    // Go's encoder: no trailing newline, <, > and & escaped, map keys sorted.
    expect(answer.text).toBe(goMarshal(expected));
  });

  it('answers v1 for one message and, with compat mailhog, all of them, in the same shape', async () => {
    const mailroom = await mailroomForTest({ compat: 'mailhog' });
    const id = await sendFixture(mailroom);
    const one = await http(mailroom, `/api/v1/messages/${encodeURIComponent(id)}`);
    const item = expectedList(id, (JSON.parse(one.text) as HogMessage).Created).items[0]!;
    expect([one.status, one.type, one.text]).toStrictEqual([200, 'text/json', goMarshal(item)]);
    const all = await http(mailroom, '/api/v1/messages');
    expect([all.status, all.type, all.text]).toStrictEqual([200, 'text/json', goMarshal([item])]);
  });

  it('keeps the v1 list newest first and at most 1000 long', async () => {
    const mailroom = await mailroomForTest({ compat: 'mailhog' });
    const empty = await http(mailroom, '/api/v1/messages');
    expect([empty.status, empty.type, empty.text]).toStrictEqual([200, 'text/json', '[]']);
    await sendWire(mailroom, Array.from({ length: 1003 }, (_, i) => `Subject: n${i}\r\n\r\nbody ${i}\r\n`));
    const all = JSON.parse((await http(mailroom, '/api/v1/messages')).text) as { Content: { Headers: { Subject: string[] } } }[];
    expect(all).toHaveLength(1000);
    expect(all[0]!.Content.Headers.Subject).toStrictEqual(['n1002']);
    expect(all[999]!.Content.Headers.Subject).toStrictEqual(['n3']);
  });

  it('leaves GET /api/v1/messages to Mailpit unless started with compat mailhog', async () => {
    const mailroom = await mailroomForTest();
    await sendFixture(mailroom);
    const list = await http(mailroom, '/api/v1/messages');
    expect(list.text.startsWith('[')).toBe(false);
    // The per-message routes exist in either mode: Mailpit's own are singular (/api/v1/message/:id).
    const v2 = JSON.parse((await http(mailroom, '/api/v2/messages')).text) as { total: number };
    expect(v2.total).toBe(1);
  });

  it('reads headers and parts with MailHog quirks: LF-only mail, nested parts, no boundary', async () => {
    const mailroom = await mailroomForTest({ compat: 'mailhog' });
    await sendWire(mailroom, [
      // Bare LF line ends: MailHog finds no CRLF CRLF, so everything is Body and Headers has only what it adds.
      'Subject: lf only\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\nbody\n--x--\n',
      'Content-Type: multipart/mixed\r\nSubject: no boundary\r\n\r\nbody\r\n',
      'Content-Type: Multipart/Mixed; boundary=b\r\nSubject: capital M\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n',
      'CONTENT-TYPE: multipart/mixed; boundary=b\r\nSubject: key case\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n',
    ]);
    const { items } = JSON.parse((await http(mailroom, '/api/v2/messages')).text) as {
      items: { Content: { Headers: Record<string, string[]>; Body: string; Size: number }; MIME: { Parts: unknown } | null }[];
    };
    const [keyCase, capital, noBoundary, lfOnly] = items;
    expect(Object.keys(lfOnly!.Content.Headers)).toStrictEqual(['Message-ID', 'Received', 'Return-Path']);
    expect(lfOnly!.Content.Body).toBe('Subject: lf only\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\nbody\n--x--\n');
    expect(lfOnly!.MIME).toBeNull();
    expect(noBoundary!.MIME).toStrictEqual({ Parts: null });
    expect(capital!.MIME).toBeNull();
    expect(keyCase!.MIME).toBeNull();
    expect(keyCase!.Content.Headers['CONTENT-TYPE']).toStrictEqual(['multipart/mixed; boundary=b']);
  });
});

/**
 * Sends each message's exact bytes over one raw SMTP session (dot-stuffed; the CRLF before the
 * terminating dot is the message's last line break, or, for bare-LF data, one of its own).
 */
async function sendWire(mailroom: Mailroom, messages: string[]): Promise<void> {
  const wire = await SmtpWire.open(mailroom.ports.smtp, mailroom.host);
  expect((await wire.reply()).code).toBe(220);
  expect((await wire.command('EHLO wire.test')).code).toBe(250);
  for (const data of messages) {
    wire.write('MAIL FROM:<wire@example.test>\r\nRCPT TO:<inbox@example.test>\r\nDATA\r\n');
    expect([(await wire.reply()).code, (await wire.reply()).code, (await wire.reply()).code]).toStrictEqual([250, 250, 354]);
    const stuffed = data.replace(/^\./gm, '..');
    expect((await wire.command(`${stuffed.endsWith('\r\n') ? stuffed : `${stuffed}\r\n`}.`)).code).toBe(250);
  }
  await wire.command('QUIT');
  wire.close();
}

describe('the npm mailhog client', () => {
  const ids: Record<string, string> = {};
  const pdf = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 255));
  const notes = 'Zeile eins\r\nZeile zwei äöü\r\n';

  beforeAll(async () => {
    const transport = nodemailer.createTransport({ host: hog.host, port: hog.ports.smtp, ignoreTLS: true });
    const mail = async (message: Mail.Options): Promise<string> => {
      const info = await transport.sendMail(message);
      return /queued as (\S+)/.exec(info.response)![1]!;
    };
    ids.qp = await mail({
      from: 'Zoë <zoe@shop.test>',
      to: 'Bob <bob@example.com>',
      cc: 'carol@example.com',
      bcc: 'audit@example.com',
      // One word: the client's Q decoder leaves `_` for space, with MailHog too.
      subject: 'Grüße',
      text: 'Hällo wörld, a long line that quoted-printable wraps with soft line breaks because it goes past seventy-six characters.',
      textEncoding: 'quoted-printable',
    });
    ids.base64 = await mail({
      from: 'Ünïcode <uni@shop.test>',
      to: 'dave@example.com',
      subject: 'Prüfung ✓',
      text: 'Text in base64: ✓ ✓ ✓\n',
      html: '<p>HTML in base64: <b>✓</b></p>',
      textEncoding: 'base64',
    });
    ids.nested = await mail({
      from: 'reports@shop.test',
      to: 'erin@example.com',
      subject: 'Monthly report',
      text: 'See attached.',
      html: '<p>See <i>attached</i>.</p>',
      attachments: [
        { filename: 'report.pdf', content: pdf, contentType: 'application/pdf' },
        { filename: 'notes.txt', content: notes, contentType: 'text/plain; charset=utf-8', encoding: 'utf8' },
      ],
    });
    ids.utf8 = await mail({
      envelope: { from: 'sender@shop.test', to: ['用户@例子.测试'] },
      from: 'sender@shop.test',
      to: '用户@例子.测试',
      subject: 'SMTPUTF8',
      text: 'to a UTF-8 mailbox',
    });
    transport.close();
  });

  it('lists every message, newest first, with decoded subject, from, to and cc', async () => {
    const result = (await client.messages())!;
    expect(result.total).toBe(4);
    expect(result.count).toBe(4);
    expect(result.start).toBe(0);
    expect(result.items.map((m) => m.ID)).toStrictEqual([ids.utf8, ids.nested, ids.base64, ids.qp]);
    const qp = result.items[3]!;
    expect(qp.subject).toBe('Grüße');
    expect(qp.from).toBe('Zoë <zoe@shop.test>');
    expect(qp.to).toBe('Bob <bob@example.com>');
    expect(qp.cc).toBe('carol@example.com');
    // nodemailer leaves Bcc out of the header; the envelope has it.
    expect(qp.bcc).toBeUndefined();
    expect((qp as unknown as { To: { Mailbox: string }[] }).To.map((to) => to.Mailbox)).toStrictEqual(['bob', 'carol', 'audit']);
    expect(qp.deliveryDate.getTime()).toBe(Date.parse(qp.Created));
    const base64 = result.items[2]!;
    expect(base64.subject).toBe('Prüfung ✓');
    expect(base64.from).toBe('Ünïcode <uni@shop.test>');
  });

  it('decodes quoted-printable and base64 bodies to what was sent', async () => {
    const qp = (await client.latestTo('bob@example.com'))!;
    expect(qp.ID).toBe(ids.qp);
    expect((qp as unknown as { Content: { Body: string } }).Content.Body).toContain('=\r\n');
    expect(qp.text).toBe('Hällo wörld, a long line that quoted-printable wraps with soft line breaks because it goes past seventy-six characters.');
    const base64 = (await client.latestTo('dave@example.com'))!;
    expect(base64.text).toBe('Text in base64: ✓ ✓ ✓\n');
    expect(base64.html).toBe('<p>HTML in base64: <b>✓</b></p>');
  });

  it('finds attachments of a nested multipart byte for byte, and no text there, as MailHog', async () => {
    const nested = (await client.latestFrom('reports@shop.test'))!;
    expect(nested.ID).toBe(ids.nested);
    // The client looks for text/plain and text/html among top-level parts only: the bodies sit one
    // level down, so its `text` is the text/plain attachment and there is no `html`, with MailHog too.
    expect(nested.text).toBe(notes);
    expect(nested.html).toBeUndefined();
    const parts = (nested as unknown as { MIME: { Parts: { MIME: { Parts: { Body: string }[] } | null }[] } }).MIME.Parts;
    expect(parts[0]!.MIME!.Parts.map((p) => p.Body)).toContain('<p>See <i>attached</i>.</p>');
    const attachments = nested.attachments;
    expect(attachments.map((a) => [a.name, a.type, a.encoding])).toStrictEqual([
      ['report.pdf', 'application/pdf; name=report.pdf', 'base64'],
      ['notes.txt', 'text/plain; charset=utf-8; name=notes.txt', 'base64'],
    ]);
    expect(Buffer.from(attachments[0]!.Body, 'base64')).toStrictEqual(pdf);
    expect(Buffer.from(attachments[1]!.Body, 'base64').toString('utf8')).toBe(notes);
  });

  it('searches by each kind, envelope and headers, with latest… answering 0 when nothing matches', async () => {
    const kinds = async (query: string, kind: 'from' | 'to' | 'containing'): Promise<string[]> => (await client.search(query, kind))!.items.map((m) => m.ID);
    expect(await kinds('ZOE@shop', 'from')).toStrictEqual([ids.qp]);
    // A Bcc recipient is only in the envelope.
    expect(await kinds('audit@', 'to')).toStrictEqual([ids.qp]);
    expect(await kinds('用户@例子', 'to')).toStrictEqual([ids.utf8]);
    // Body text is searched still encoded: "Hällo" is "H=C3=A4llo" in the quoted-printable body.
    expect(await kinds('h=c3=a4llo', 'containing')).toStrictEqual([ids.qp]);
    expect(await kinds('Hällo', 'containing')).toStrictEqual([]);
    // Header values too, those MailHog adds included.
    expect(await kinds('monthly REPORT', 'containing')).toStrictEqual([ids.nested]);
    expect(await kinds('(MailHog)', 'containing')).toHaveLength(4);
    expect((await client.latestContaining('nothing like this'))).toBe(0);
    expect((await client.latestFrom('nobody@nowhere'))).toBe(0);
    expect((await client.latestTo('nobody@nowhere'))).toBe(0);
    const utf8 = (await client.latestTo('用户@例子.测试'))! as unknown as { ID: string; To: { Mailbox: string; Domain: string }[]; Raw: { To: string[] } };
    expect(utf8.ID).toBe(ids.utf8);
    expect([utf8.To[0]!.Mailbox, utf8.To[0]!.Domain, utf8.Raw.To]).toStrictEqual(['用户', '例子.测试', ['用户@例子.测试']]);
  });

  it('pages with start and limit', async () => {
    const page = (await client.messages(1, 2))!;
    expect([page.total, page.count, page.start]).toStrictEqual([4, 2, 1]);
    expect(page.items.map((m) => m.ID)).toStrictEqual([ids.nested, ids.base64]);
    const found = (await client.search('example', 'to', 1, 1))!;
    expect([found.total, found.count, found.start, found.items[0]!.ID]).toStrictEqual([3, 1, 1, ids.base64]);
  });
});

describe('deleting, with the npm mailhog client', () => {
  it('deletes one message and then all, with empty bodies the client resolves', async () => {
    const mailroom = await mailroomForTest({ compat: 'mailhog' });
    const mh = mailhog({ host: '127.0.0.1', port: mailroom.ports.http });
    const first = await send(mailroom, { subject: 'one' });
    const second = await send(mailroom, { subject: 'two' });
    await send(mailroom, { subject: 'three' });
    const deleted = (await mh.deleteMessage(first)) as unknown as { statusCode: number; headers: Record<string, string> };
    expect(deleted.statusCode).toBe(200);
    expect(deleted.headers['content-type']).toBe('text/json');
    expect((await mh.messages())!.items.map((m) => m.subject)).toStrictEqual(['three', 'two']);
    // MailHog answers 500 for an id it does not have.
    expect(((await mh.deleteMessage(first)) as unknown as { statusCode: number }).statusCode).toBe(500);
    const all = (await mh.deleteAll()) as unknown as { statusCode: number };
    expect(all.statusCode).toBe(200);
    expect(await mh.messages()).toStrictEqual({ total: 0, count: 0, start: 0, items: [] });
    expect(((await mh.deleteMessage(second)) as unknown as { statusCode: number }).statusCode).toBe(500);
  });
});

describe('release', () => {
  it('relays the message as received to another SMTP server, with and without AUTH PLAIN', async () => {
    const target = await mailroomForTest({ smtpAuth: { relay: 'secret' } });
    const mh = mailhog({ host: '127.0.0.1', port: hog.ports.http });
    const id = await sendFixture(hog);
    const original = (await http(hog, `/api/v1/messages/${id}/download`)).bytes;
    const released = (await mh.releaseMessage(id, {
      host: '127.0.0.1',
      port: String(target.ports.smtp),
      email: 'released@example.net',
      username: 'relay',
      password: 'secret',
      mechanism: 'PLAIN',
    })) as unknown as { statusCode: number; headers: Record<string, string> };
    expect(released.statusCode).toBe(200);
    expect(released.headers['content-type']).toBe('text/json');
    const arrived = JSON.parse((await http(target, '/api/messages')).text) as { messages: { id: string; envelope: unknown }[] };
    expect(arrived.messages).toHaveLength(1);
    expect(arrived.messages[0]!.envelope).toStrictEqual({ mailFrom: 'nobody@mailhog.example', rcptTo: ['released@example.net'] });
    // Mailroom adds nothing on receipt: the relayed bytes are the original's.
    expect((await http(target, `/api/messages/${arrived.messages[0]!.id}/raw`)).bytes).toStrictEqual(original);

    const open = await mailroomForTest();
    const plain = await http(hog, `/api/v1/messages/${id}/release`, {
      method: 'POST',
      body: JSON.stringify({ HOST: '127.0.0.1', Port: String(open.ports.smtp), eMaIl: 'x@example.net' }),
    });
    expect([plain.status, plain.type, plain.text]).toStrictEqual([200, 'text/json', '']);
    expect(JSON.parse((await http(open, '/api/messages')).text).total).toBe(1);
  });

  it('answers bad release requests as MailHog does', async () => {
    const target = await mailroomForTest({ smtpAuth: { relay: 'secret' } });
    const id = await send(hog, { subject: 'to release' });
    const port = String(target.ports.smtp);
    const release = (body: string | Buffer, path = id) => http(hog, `/api/v1/messages/${encodeURIComponent(path)}/release`, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body) });
    const table: [string, string | Buffer, number, string][] = [
      ['Port as a number', JSON.stringify({ Host: '127.0.0.1', Port: target.ports.smtp, Email: 'x@example.net' }), 500, 'Error decoding request body'],
      ['not JSON', 'host=127.0.0.1', 500, 'Error decoding request body'],
      ['empty body', '', 500, 'Error decoding request body'],
      ['an array', '[]', 500, 'Error decoding request body'],
      ['Save not a boolean', JSON.stringify({ Save: 'yes' }), 500, 'Error decoding request body'],
      ['the npm docs spelling CRAM-MD5', JSON.stringify({ host: '127.0.0.1', port, email: 'x@example.net', username: 'relay', password: 'secret', mechanism: 'CRAM-MD5' }), 400, ''],
      ['credentials without a mechanism', JSON.stringify({ host: '127.0.0.1', port, email: 'x@example.net', password: 'secret' }), 400, ''],
      ['a saved server name', JSON.stringify({ Name: 'prod', Email: 'x@example.net' }), 400, ''],
      ['a wrong password', JSON.stringify({ host: '127.0.0.1', port, email: 'x@example.net', username: 'relay', password: 'wrong', mechanism: 'PLAIN' }), 500, ''],
      ['CRAMMD5, which the server does not offer', JSON.stringify({ host: '127.0.0.1', port, email: 'x@example.net', username: 'relay', password: 'secret', mechanism: 'CRAMMD5' }), 500, ''],
      ['no server listening', JSON.stringify({ host: '127.0.0.1', port: '1', email: 'x@example.net' }), 500, ''],
      ['a port that is not a number', JSON.stringify({ host: '127.0.0.1', port: 'smtp!', email: 'x@example.net' }), 500, ''],
      ['null, which decodes to nothing and fails to send', 'null', 500, ''],
      ['a line break in the address', JSON.stringify({ host: '127.0.0.1', port, email: 'x@example.net>\r\nRCPT TO:<y@example.net', username: 'relay', password: 'secret', mechanism: 'PLAIN' }), 500, ''],
      ['an oversized body', Buffer.alloc(70 * 1024, 0x20), 413, ''],
    ];
    for (const [what, body, status, text] of table) {
      const answer = await release(body);
      expect([what, answer.status, answer.type, answer.text]).toStrictEqual([what, status, 'text/json', text]);
    }
    // MailHog drops the connection here (a nil message); Mailroom says 404.
    const unknown = await release(JSON.stringify({ host: '127.0.0.1', port, email: 'x@example.net' }), 'no-such-id');
    expect([unknown.status, unknown.text]).toStrictEqual([404, '']);
    expect(JSON.parse((await http(target, '/api/messages')).text).total).toBe(0);
  });
});

describe('downloads', () => {
  it('serves the message as received and its top-level parts as MailHog does', async () => {
    const mailroom = await mailroomForTest({ compat: 'mailhog' });
    const id = await sendFixture(mailroom);
    const raw = (await http(mailroom, `/api/messages/${id}/raw`)).bytes;
    const message = await http(mailroom, `/api/v1/messages/${id}/download`);
    expect([message.status, message.type, message.headers.get('content-disposition')]).toStrictEqual([200, 'message/rfc822', `attachment; filename="${id}.eml"`]);
    expect(message.bytes).toStrictEqual(raw);

    // Part 2 is the base64 attachment: decoded, with the part's own fields.
    const attachment = await http(mailroom, `/api/v1/messages/${id}/mime/part/2/download`);
    expect(attachment.status).toBe(200);
    expect(attachment.bytes).toStrictEqual(Buffer.from([0, 1, 2, 255]));
    expect(attachment.type).toBe('application/octet-stream');
    expect(attachment.headers.get('content-disposition')).toBe('attachment; filename="data.bin"');
    expect(attachment.headers.get('content-transfer-encoding')).toBe('base64');
    expect(attachment.headers.get('content-security-policy')).toMatch(/^sandbox/);
    // Part 0 is the preamble, no fields of its own: MailHog's default name.
    const preamble = await http(mailroom, `/api/v1/messages/${id}/mime/part/0/download`);
    expect([preamble.status, preamble.text, preamble.headers.get('content-disposition')]).toStrictEqual([200, 'preamble', `attachment; filename="${id}-part-0"`]);
    // Text that is not a number is part 0 (strconv.Atoi's error ignored).
    expect((await http(mailroom, `/api/v1/messages/${id}/mime/part/abc/download`)).text).toBe('preamble');
    // Past the end, or a message without parts: MailHog panics, Mailroom answers 404.
    expect((await http(mailroom, `/api/v1/messages/${id}/mime/part/4/download`)).status).toBe(404);
    expect((await http(mailroom, `/api/v1/messages/${id}/mime/part/-1/download`)).status).toBe(404);
    const single = await send(mailroom, { subject: 'single part' });
    expect((await http(mailroom, `/api/v1/messages/${single}/mime/part/0/download`)).status).toBe(404);
  });
});

describe('bad input', () => {
  it('answers garbage ids as MailHog does, or 404 where MailHog crashes', async () => {
    for (const id of ['nope', 'AbC…xyz=@mailhog.example', 'x'.repeat(100), '%00', '<script>']) {
      const path = `/api/v1/messages/${encodeURIComponent(id)}`;
      const one = await http(hog, path);
      expect([id, one.status, one.type, one.text]).toStrictEqual([id, 200, 'text/json', 'null']);
      const deleted = await http(hog, path, { method: 'DELETE' });
      expect([id, deleted.status, deleted.type, deleted.text]).toStrictEqual([id, 500, 'text/json', '']);
      expect((await http(hog, `${path}/download`)).status).toBe(404);
      expect((await http(hog, `${path}/mime/part/0/download`)).status).toBe(404);
    }
    // An empty id is no route at all, as in MailHog's router; Fastify's router also stops at ids of 100 characters.
    expect((await http(hog, '/api/v1/messages/')).status).toBe(404);
    expect((await http(hog, `/api/v1/messages/${'x'.repeat(101)}`)).status).toBe(404);
  });

  it('reads start and limit as MailHog does, whatever they are', async () => {
    const mailroom = await mailroomForTest({ compat: 'mailhog' });
    for (let i = 0; i < 3; i++) await send(mailroom, { subject: `m${i}` });
    const page = async (query: string): Promise<[number, number, string, string[]]> => {
      const answer = await http(mailroom, `/api/v2/messages${query}`);
      const body = JSON.parse(answer.text) as { total: number; count: number; items: { Content: { Headers: { Subject: string[] } } }[] };
      const start = /"start":(-?\d+)/.exec(answer.text)![1]!;
      return [body.total, body.count, start, body.items.map((m) => m.Content.Headers.Subject[0]!)];
    };
    expect(await page('')).toStrictEqual([3, 3, '0', ['m2', 'm1', 'm0']]);
    expect(await page('?limit=1')).toStrictEqual([3, 1, '0', ['m2']]);
    expect(await page('?start=2&limit=99999999999999999999')).toStrictEqual([3, 1, '2', ['m0']]);
    expect(await page('?limit=-5&start=-1')).toStrictEqual([3, 3, '0', ['m2', 'm1', 'm0']]);
    expect(await page('?limit=abc&start=1e2')).toStrictEqual([3, 3, '0', ['m2', 'm1', 'm0']]);
    expect(await page('?start=%2B0001&limit=0001')).toStrictEqual([3, 1, '1', ['m1']]);
    // A bare + in a query is a space, to Go as to Node: no number.
    expect(await page('?start=+1')).toStrictEqual([3, 3, '0', ['m2', 'm1', 'm0']]);
    expect(await page('?start=1&start=2')).toStrictEqual([3, 2, '1', ['m1', 'm0']]);
    // start equal to the count: MailHog's off-by-one returns the oldest message.
    expect(await page('?start=3')).toStrictEqual([3, 1, '3', ['m0']]);
    expect(await page('?start=4')).toStrictEqual([3, 0, '4', []]);
    // An int64 start is echoed exactly; one past int64 is no number to Go, so 0.
    expect(await page('?start=9223372036854775807')).toStrictEqual([3, 0, '9223372036854775807', []]);
    expect(await page('?start=9223372036854775808')).toStrictEqual([3, 3, '0', ['m2', 'm1', 'm0']]);

    // The limit is capped at 250.
    await sendWire(mailroom, Array.from({ length: 300 }, (_, i) => `Subject: bulk ${i}\r\n\r\nx\r\n`));
    expect((await page('?limit=1000')).slice(0, 2)).toStrictEqual([303, 250]);
  });

  it('answers search parameters as MailHog does', async () => {
    const mailroom = await mailroomForTest({ compat: 'mailhog' });
    for (let i = 0; i < 3; i++) await send(mailroom, { subject: `s${i}`, to: `r${i}@example.com` });
    const search = (query: string) => http(mailroom, `/api/v2/search${query}`);
    for (const query of ['', '?kind=from', '?query=x', '?kind=subject&query=x', '?kind=FROM&query=x', '?kind=from&query=']) {
      const answer = await search(query);
      expect([query, answer.status, answer.type, answer.text]).toStrictEqual([query, 400, null, '']);
    }
    const found = await search('?kind=to&query=EXAMPLE.com&limit=2');
    expect([found.status, found.type]).toStrictEqual([200, 'application/json']);
    const body = JSON.parse(found.text) as { total: number; count: number; start: number; items: { ID: string }[] };
    expect([body.total, body.count, body.start]).toStrictEqual([3, 2, 0]);
    const none = await search('?kind=containing&query=absent');
    expect(none.text).toBe('{"total":0,"count":0,"start":0,"items":[]}');
    // start equal to the number of matches gives the oldest match; past it, total 0.
    const oldest = JSON.parse((await search('?kind=to&query=example&start=3')).text) as { total: number; items: { Content: { Headers: { Subject: string[] } } }[] };
    expect([oldest.total, oldest.items.map((m) => m.Content.Headers.Subject[0])]).toStrictEqual([3, ['s0']]);
    expect((await search('?kind=to&query=example&start=4')).text).toBe('{"total":0,"count":0,"start":4,"items":[]}');
  });

  it('answers Jim as switched off', async () => {
    const jim = await http(hog, '/api/v2/jim');
    expect([jim.status, jim.type, jim.text]).toStrictEqual([404, null, '']);
  });
});

describe('GET /api/v1/events', () => {
  /** An EventSource-like reader over fetch: the raw text, and each event as its field lines. */
  async function openEvents(mailroom: Mailroom): Promise<{ response: Response; next(): Promise<string> }> {
    const controller = new AbortController();
    const response = await fetch(`${mailroom.apiUrl}/api/v1/events`, { signal: controller.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    onTestFinished(() => controller.abort());
    return {
      response,
      async next() {
        for (;;) {
          const end = buffered.indexOf('\n\n');
          if (end >= 0) {
            const event = buffered.slice(0, end + 2);
            buffered = buffered.slice(end + 2);
            return event;
          }
          const { value, done } = await reader.read();
          if (done) throw new Error('event stream ended');
          buffered += decoder.decode(value, { stream: true });
        }
      },
    };
  }

  it('sends each new message as MailHog writes it: indented JSON, one data: line per line', async () => {
    const mailroom = await mailroomForTest({ compat: 'mailhog' });
    const events = await openEvents(mailroom);
    expect(events.response.status).toBe(200);
    expect(events.response.headers.get('content-type')).toBe('text/event-stream');
    expect(events.response.headers.get('cache-control')).toBe('no-cache');
    const id = await sendFixture(mailroom);
    const event = await events.next();
    const created = (JSON.parse(event.replace(/^data: /gm, '')) as HogMessage).Created;
    const indented = goMarshal(expectedList(id, created).items[0], 2);
    expect(event).toBe(`${indented.split('\n').map((line) => `data: ${line}\n`).join('')}\n`);
    const second = await send(mailroom, { subject: 'second' });
    expect(JSON.parse((await events.next()).replace(/^data: /gm, '')).ID).toBe(second);
  });

  it('writes each event as one HTTP chunk', async () => {
    const mailroom = await mailroomForTest({ compat: 'mailhog' });
    const socket = connect(mailroom.ports.http, mailroom.host);
    onTestFinished(() => void socket.destroy());
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
    await once(socket, 'connect');
    socket.write(`GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:${mailroom.ports.http}\r\n\r\n`);
    await until(() => received.includes('\r\n\r\n'));
    const head = received.toString('latin1', 0, received.indexOf('\r\n\r\n'));
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head).toMatch(/\r\nTransfer-Encoding: chunked(\r\n|$)/i);
    const bodyStart = received.indexOf('\r\n\r\n') + 4;
    const id = await send(mailroom, { subject: 'chunked' });
    await until(() => received.subarray(bodyStart).includes('\n\n\r\n'));
    const body = received.subarray(bodyStart).toString('utf8');
    const sizeLine = body.slice(0, body.indexOf('\r\n'));
    const chunk = body.slice(sizeLine.length + 2);
    const event = chunk.slice(0, -2);
    expect(chunk.endsWith('\r\n')).toBe(true);
    expect(Buffer.byteLength(event)).toBe(parseInt(sizeLine, 16));
    expect(event).toMatch(/^data: \{\ndata: {3}"ID": "/);
    expect(event.endsWith('\ndata: }\n\n')).toBe(true);
    expect(JSON.parse(event.replace(/^data: /gm, '')).ID).toBe(id);
  });

  it('drops a client that stops reading once its unsent data passes the limit', async () => {
    const mailroom = await mailroomForTest({ compat: 'mailhog' });
    const socket = connect(mailroom.ports.http, mailroom.host);
    onTestFinished(() => void socket.destroy());
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.write(`GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:${mailroom.ports.http}\r\n\r\n`);
    socket.pause();
    // Each event carries the body twice (Raw.Data and Content.Body): 4 MiB of text makes events of 8 MiB and more.
    const big = `${'x'.repeat(998)}\r\n`.repeat(4 * 1024);
    for (let i = 0; i < 6; i++) await send(mailroom, { subject: `big ${i}`, text: big });
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
    socket.resume();
    const closed = await Promise.race([once(socket, 'close').then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 20_000))]);
    expect(closed).toBe(true);
    // Six events of about 8 MiB each were due; the stream ended long before.
    expect(bytes).toBeLessThan(40 * 1024 * 1024);
    // The server is still answering, and a new listener is served.
    expect((await http(mailroom, '/api/v2/messages?limit=1')).status).toBe(200);
  });
});

describe('OpenAPI', () => {
  it('lists the MailHog routes under their own tag', async () => {
    const doc = JSON.parse((await http(hog, '/api/openapi.json')).text) as { paths: Record<string, Record<string, { tags?: string[] }>> };
    const tagged = Object.entries(doc.paths)
      .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => [path, method, op.tags] as const))
      .filter(([, , tags]) => tags?.includes('mailhog'))
      .map(([path, method]) => `${method.toUpperCase()} ${path}`)
      .sort();
    expect(tagged).toStrictEqual([
      'DELETE /api/v1/messages',
      'DELETE /api/v1/messages/{id}',
      'GET /api/v1/events',
      'GET /api/v1/messages',
      'GET /api/v1/messages/{id}',
      'GET /api/v1/messages/{id}/download',
      'GET /api/v1/messages/{id}/mime/part/{part}/download',
      'DELETE /api/v2/jim',
      'GET /api/v2/jim',
      'GET /api/v2/messages',
      'GET /api/v2/search',
      'GET /api/v2/websocket',
      'POST /api/v1/messages/{id}/release',
      'POST /api/v2/jim',
      'PUT /api/v2/jim',
    ].sort());
  });
});
