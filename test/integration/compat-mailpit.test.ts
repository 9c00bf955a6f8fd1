import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Mailroom } from 'mailroom-catcher';
import { MailpitClient } from 'mailpit-api';
import { describe, expect, it } from 'vitest';
import { api, mailroomForTest, useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

/**
 * Mailroom answering Mailpit's API (v1.30.5) to the unmodified `mailpit-api` client and to plain
 * HTTP, checked against Mailpit's recorded answers in test/fixtures/compat/mailpit/ (written from
 * docs/compat-reference.md, each naming its section).
 */

interface Recorded {
  status: number;
  contentType: string;
  body: unknown;
}
const recorded = (name: string): Recorded => JSON.parse(readFileSync(new URL(`../fixtures/compat/mailpit/${name}.json`, import.meta.url), 'utf8')) as Recorded;

/**
 * A JSON value's shape: object keys in order with their values' shapes, the type of each
 * primitive, null kept as null, and an array as the shape all its elements share ([] when empty).
 */
function shape(value: unknown): unknown {
  if (value === null) return null;
  if (Array.isArray(value)) {
    if (value.length === 0) return [];
    const shapes = value.map(shape);
    for (const other of shapes) expect(other).toStrictEqual(shapes[0]);
    return [shapes[0]];
  }
  if (typeof value === 'object') return Object.entries(value as object).map(([key, item]) => [key, shape(item)]);
  return typeof value;
}

interface Answer {
  status: number;
  type: string | null;
  text: string;
  headers: Headers;
}

async function request(mailroom: Mailroom, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${mailroom.apiUrl}${path}`, { method, body, headers, redirect: 'manual' });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text(), headers: response.headers };
}

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from(Array.from({ length: 256 }, (_, i) => i))]);
const NOTES = 'plain notes\n';
/** How Mailpit addresses the rich message, in its summary and its detail alike. */
const RICH_ADDRESSED = {
  MessageID: 'rich-1@example.test',
  From: { Name: 'Zoë Ünïcode', Address: 'zoe@example.test' },
  To: [{ Name: 'Bob Example', Address: 'bob@example.test' }],
  Cc: [{ Name: '', Address: 'carol@example.test' }],
  // nodemailer leaves Bcc out of the header; Mailpit lists envelope recipients missing from it as Bcc.
  Bcc: [{ Name: '', Address: 'hidden@example.test' }],
  ReplyTo: [{ Name: '', Address: 'replies@example.test' }],
};
const hex = (algorithm: string, content: Buffer | string): string => createHash(algorithm).update(content).digest('hex');
const checksums = (content: Buffer | string) => ({ MD5: hex('md5', content), SHA1: hex('sha1', content), SHA256: hex('sha256', content) });
/** RFC 3339 as Go prints a time in UTC: milliseconds at most, trailing zeros dropped. */
const GO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,2}[1-9])?Z$/;

interface Ids {
  plain: string;
  rich: string;
  utf8: string;
  html: string;
}

async function sendAll(mailroom: Mailroom): Promise<Ids> {
  const plain = await send(mailroom, {
    from: 'app@example.test',
    to: 'user@example.test',
    subject: 'Plain one',
    text: 'just text',
    messageId: '<plain-1@example.test>',
    date: 'Wed, 01 May 2024 10:00:00 +0000',
  });
  const rich = await send(mailroom, {
    envelope: { from: 'bounces@example.test', to: ['bob@example.test', 'carol@example.test', 'hidden@example.test'] },
    from: '"Zoë Ünïcode" <zoe@example.test>',
    to: [{ name: 'Bob Example', address: 'bob@example.test' }],
    cc: 'carol@example.test',
    bcc: 'hidden@example.test',
    replyTo: 'replies@example.test',
    subject: 'Grüße — résumé ✓',
    text: 'Hello text part, code 123456',
    html: '<p>Hello <b>HTML</b> <img src="cid:logo@example.test"></p>',
    date: 'Wed, 01 May 2024 10:00:00 +0200',
    messageId: '<rich-1@example.test>',
    headers: { 'List-Unsubscribe': '<mailto:unsub@example.test>, <https://example.test/unsub>' },
    attachments: [
      { filename: 'logo.png', content: PNG, cid: 'logo@example.test' },
      { filename: 'report.pdf', content: PDF },
      { filename: 'notes.txt', content: NOTES },
    ],
  });
  const utf8 = await send(mailroom, {
    envelope: { from: 'sender@example.test', to: ['用户@例子.测试'] },
    from: 'sender@example.test',
    to: '用户@例子.测试',
    subject: 'SMTPUTF8 hello',
    text: 'unicode mailbox',
  });
  const html = await send(mailroom, { from: 'news@example.test', to: 'user@example.test', subject: 'HTML only', html: '<h1>Only HTML</h1><p>Second paragraph</p>', text: undefined });
  return { plain, rich, utf8, html };
}

describe('reading captured mail with the mailpit-api client', async () => {
  const mailroom = await useMailroom();
  const mailpit = new MailpitClient(mailroom.apiUrl);
  const ids = await sendAll(mailroom);
  const rawOf = async (id: string): Promise<Buffer> => Buffer.from(await (await fetch(`${mailroom.apiUrl}/api/messages/${id}/raw`)).arrayBuffer());

  it("lists messages newest first in Mailpit's wrapper, with its keys, types and nulls", async () => {
    const answer = await request(mailroom, 'GET', '/api/v1/messages');
    const expected = recorded('messages');
    expect([answer.status, answer.type]).toStrictEqual([expected.status, expected.contentType]);
    expect(answer.text.endsWith('}\n')).toBe(true);
    const list = await mailpit.listMessages();
    expect(JSON.parse(answer.text)).toStrictEqual(list);
    expect(list.messages.map((m) => m.ID)).toStrictEqual([ids.html, ids.utf8, ids.rich, ids.plain]);
    const { messages, ...wrapper } = list;
    const { messages: recordedMessages, ...recordedWrapper } = expected.body as typeof list;
    expect(shape(wrapper)).toStrictEqual(shape(recordedWrapper));
    expect(wrapper).toMatchObject({ total: 4, count: 4, messages_count: 4, start: 0, tags: [] });
    expect(wrapper.unread).toBe(messages.filter((m) => !m.Read).length);
    const plain = messages[3]!;
    expect(shape(plain)).toStrictEqual(shape(recordedMessages[0]));
    const { receivedAt } = (await api<{ receivedAt: string }>(mailroom, `/api/messages/${ids.plain}`)).body;
    expect(plain).toStrictEqual({
      ID: ids.plain,
      MessageID: 'plain-1@example.test',
      Read: plain.Read,
      From: { Name: '', Address: 'app@example.test' },
      To: [{ Name: '', Address: 'user@example.test' }],
      Cc: null,
      Bcc: null,
      ReplyTo: [],
      Subject: 'Plain one',
      Created: receivedAt.replace(/\.?0*Z$/, 'Z'),
      Username: '',
      Tags: [],
      Size: (await rawOf(ids.plain)).length,
      Attachments: 0,
      Snippet: 'just text',
    });
    expect(plain.Created).toMatch(GO_UTC);
    const rich = messages[2]!;
    expect(rich).toMatchObject({
      ...RICH_ADDRESSED,
      Subject: 'Grüße — résumé ✓',
      Attachments: 2,
      Snippet: 'Hello text part, code 123456',
    });
    expect(messages[1]).toMatchObject({ To: [{ Name: '', Address: '用户@例子.测试' }], Subject: 'SMTPUTF8 hello' });
    expect(messages[0]).toMatchObject({ Subject: 'HTML only', Snippet: 'Only HTML Second paragraph', Cc: null });
  });

  it('pages with start and limit, and limit=0 lists everything', async () => {
    const page = await mailpit.listMessages(1, 2);
    expect(page).toMatchObject({ total: 4, count: 2, messages_count: 4, start: 1 });
    expect(page.messages.map((m) => m.ID)).toStrictEqual([ids.utf8, ids.rich]);
    expect((await mailpit.listMessages(3, 0)).messages.map((m) => m.ID)).toStrictEqual([ids.html, ids.utf8, ids.rich, ids.plain]);
    expect((await mailpit.listMessages(10, 5)).messages).toStrictEqual([]);
  });

  it("searches with Mailpit's syntax: prefixes, quoting, negation, is:, has:, sizes and dates", async () => {
    const found = async (query: string, tz?: string): Promise<string[]> => (await mailpit.searchMessages({ query, tz })).messages.map((m) => m.ID);
    const today = new Date().toISOString().slice(0, 10);
    const cases: [string, string[]][] = [
      ['subject:"résumé ✓"', [ids.rich]],
      ['subject:grüße from:zoe', [ids.rich]],
      ['"hello html"', [ids.rich]],
      ['"just text"', [ids.plain]],
      // Mailpit searches the HTML's text when there is HTML, so the text part's own words are not found.
      ['123456', []],
      ['-subject:plain', [ids.html, ids.utf8, ids.rich]],
      ['!subject:plain -subject:html', [ids.utf8, ids.rich]],
      ['has:attachment', [ids.rich]],
      ['-has:attachments', [ids.html, ids.utf8, ids.plain]],
      ['has:inline', [ids.rich]],
      ['larger:1kb', [ids.rich]],
      ['smaller:1KB', [ids.html, ids.utf8, ids.plain]],
      ['to:用户', [ids.utf8]],
      ['bcc:hidden@example.test', [ids.rich]],
      ['addressed:carol', [ids.rich]],
      ['reply-to:replies', [ids.rich]],
      ['message-id:plain-1', [ids.plain]],
      ['report.pdf', [ids.rich]],
      ['"second paragraph"', [ids.html]],
      ['bounces@example.test', [ids.rich]],
      [`after:${today}`, [ids.html, ids.utf8, ids.rich, ids.plain]],
      [`before:2000-01-01`, []],
      ['after:"Jan 1, 2000" before:2999-12-31', [ids.html, ids.utf8, ids.rich, ids.plain]],
      ['tag:none', []],
    ];
    for (const [query, expected] of cases) expect(await found(query), query).toStrictEqual(expected);
    expect(await found('after:2000-01-01T00:00:00', 'Pacific/Kiritimati')).toHaveLength(4);
    const answer = await request(mailroom, 'GET', `/api/v1/search?query=${encodeURIComponent('subject:"Plain one"')}`);
    const expected = recorded('search');
    expect([answer.status, answer.type]).toStrictEqual([expected.status, expected.contentType]);
    const result = JSON.parse(answer.text) as { messages: unknown[] };
    expect(shape(result)).toStrictEqual(shape(expected.body));
    expect(result).toMatchObject({ total: 4, count: 1, messages_count: 1, start: 0, messages: [{ ID: ids.plain, ReplyTo: null, Cc: null, Bcc: null }] });
    const paged = await mailpit.searchMessages({ query: 'example.test', start: 1, limit: 2 });
    expect(paged).toMatchObject({ count: 2, messages_count: 4, start: 1 });
    expect(paged.messages.map((m) => m.ID)).toStrictEqual([ids.utf8, ids.rich]);
    // On /search, unlike /messages, limit=0 is an empty page; the counts still count.
    expect(await mailpit.searchMessages({ query: 'example.test', limit: 0 })).toMatchObject({ count: 0, messages_count: 4, messages: [] });
  });

  it("gives Mailpit's message detail, every value what Mailroom captured, and marks it read everywhere", async () => {
    await mailpit.setReadStatus({ IDs: [ids.rich], Read: false });
    const answer = await request(mailroom, 'GET', `/api/v1/message/${ids.rich}`);
    const expected = recorded('message');
    expect([answer.status, answer.type]).toStrictEqual([expected.status, expected.contentType]);
    expect(answer.text).toContain('"HTML":"\\u003cp\\u003eHello');
    const detail = JSON.parse(answer.text) as Record<string, unknown>;
    expect(shape(detail)).toStrictEqual(shape(expected.body));
    const html = '<p>Hello <b>HTML</b> <img src="cid:logo@example.test"></p>';
    expect(detail).toStrictEqual({
      ID: ids.rich,
      ...RICH_ADDRESSED,
      ReturnPath: 'bounces@example.test',
      Subject: 'Grüße — résumé ✓',
      ListUnsubscribe: { Header: '<mailto:unsub@example.test>, <https://example.test/unsub>', Links: ['mailto:unsub@example.test', 'https://example.test/unsub'], Errors: '', HeaderPost: '' },
      Date: '2024-05-01T10:00:00+02:00',
      Tags: [],
      Username: '',
      Text: 'Hello text part, code 123456',
      HTML: html,
      Size: (await rawOf(ids.rich)).length,
      Inline: [{ PartID: '1.2.2', FileName: 'logo.png', ContentType: 'image/png', ContentID: 'logo@example.test', Size: PNG.length, Checksums: checksums(PNG) }],
      Attachments: [
        { PartID: '2', FileName: 'report.pdf', ContentType: 'application/pdf', ContentID: '', Size: PDF.length, Checksums: checksums(PDF) },
        { PartID: '3', FileName: 'notes.txt', ContentType: 'text/plain', ContentID: '', Size: NOTES.length, Checksums: checksums(NOTES) },
      ],
    });
    expect((await api<{ read: boolean }>(mailroom, `/api/messages/${ids.rich}`)).body.read).toBe(true);
    expect((await mailpit.getMessageSummary(ids.rich)).ID).toBe(ids.rich);
    // `latest`, the client's default: the newest message, or with ?query= the newest match.
    expect((await mailpit.getMessageSummary()).ID).toBe(ids.html);
    const latestPlain = await request(mailroom, 'GET', `/api/v1/message/latest?query=${encodeURIComponent('subject:plain')}`);
    expect((JSON.parse(latestPlain.text) as { ID: string }).ID).toBe(ids.plain);
    const html2 = await mailpit.getMessageSummary(ids.html);
    // A single-part body runs to the end of the message, its last line break included, in enmime as here.
    expect(html2).toMatchObject({ HTML: '<h1>Only HTML</h1><p>Second paragraph</p>\r\n', Cc: [], Bcc: [], ReplyTo: [], Inline: [], Attachments: [] });
    expect(html2.Text).toContain('Only HTML');
    expect(html2.Text).toContain('Second paragraph');
  });

  it('gives the header fields by canonical name, sorted, encoded words as sent', async () => {
    const expected = recorded('headers');
    const answer = await request(mailroom, 'GET', `/api/v1/message/${ids.plain}/headers`);
    expect([answer.status, answer.type]).toStrictEqual([expected.status, expected.contentType]);
    const headers = await mailpit.getMessageHeaders(ids.plain);
    expect(JSON.parse(answer.text)).toStrictEqual(headers);
    const keys = Object.keys(headers);
    expect(keys).toStrictEqual([...keys].sort());
    for (const [name, values] of Object.entries(expected.body as Record<string, string[]>)) {
      if (name === 'Content-Type') continue;
      expect(headers[name], name).toStrictEqual(values);
    }
    expect(headers['Content-Type']?.[0]).toMatch(/^text\/plain/);
    const rich = await mailpit.getMessageHeaders(ids.rich);
    const source = (await rawOf(ids.rich)).toString('utf8');
    const subject = /^Subject: (.*(?:\r\n[ \t].*)*)/m.exec(source)![1]!.replace(/\r\n[ \t]+/g, ' ');
    expect(rich.Subject).toStrictEqual([subject]);
    expect(rich.Subject![0]).toMatch(/^=\?UTF-8\?Q\?/);
    expect(rich['Message-Id']).toStrictEqual(['<rich-1@example.test>']);
    expect(rich['List-Unsubscribe']).toStrictEqual(['<mailto:unsub@example.test>, <https://example.test/unsub>']);
    expect((await mailpit.getMessageHeaders()).Subject).toStrictEqual(['HTML only']);
  });

  it('gives the source byte for byte, and as a download with dl=1', async () => {
    for (const id of Object.values(ids)) expect(await mailpit.getMessageSource(id)).toBe((await rawOf(id)).toString('utf8'));
    expect(await mailpit.getMessageSource(ids.utf8)).toContain('To: 用户@例子.测试');
    const download = await request(mailroom, 'GET', `/api/v1/message/${ids.plain}/raw?dl=1`);
    expect([download.status, download.type, download.headers.get('content-disposition')]).toStrictEqual([200, 'text/plain; charset=utf-8', `attachment; filename="${ids.plain}.eml"`]);
  });

  it('serves attachments and inline parts by PartID, byte-equal, with their type', async () => {
    const pdf = await mailpit.getMessageAttachment(ids.rich, '2');
    expect(pdf.type).toBe('application/pdf');
    expect(Buffer.from(await pdf.arrayBuffer()).equals(PDF)).toBe(true);
    const logo = await mailpit.getMessageAttachment(ids.rich, '1.2.2');
    expect([logo.type, Buffer.from(await logo.arrayBuffer()).equals(PNG)]).toStrictEqual(['image/png', true]);
    const notes = await mailpit.getMessageAttachment(ids.rich, '3');
    expect([notes.type, await notes.text()]).toStrictEqual(['text/plain', NOTES]);
    const answer = await request(mailroom, 'GET', `/api/v1/message/${ids.rich}/part/2`);
    expect(answer.headers.get('content-disposition')).toBe('inline; filename="report.pdf"');
    expect(answer.headers.get('content-security-policy')).toMatch(/^sandbox;/);
    // The text body is no part Mailpit serves: only attachments, inline and other parts are.
    await expect(mailpit.getMessageAttachment(ids.rich, '1.1')).rejects.toThrow('404 Not Found');
    await expect(mailpit.getMessageAttachment(ids.rich, '9')).rejects.toThrow('404 page not found');
  });

  it('renders the HTML with cid: images pointing at their parts, and the text, on /view', async () => {
    const page = await mailpit.renderMessageHTML(ids.rich);
    expect(page).toBe(`<p>Hello <b>HTML</b> <img src="/api/v1/message/${ids.rich}/part/1.2.2"></p>`);
    const image = await fetch(`${mailroom.apiUrl}/api/v1/message/${ids.rich}/part/1.2.2`);
    expect(Buffer.from(await image.arrayBuffer()).equals(PNG)).toBe(true);
    const view = await request(mailroom, 'GET', `/view/${ids.rich}.html`);
    expect([view.type, view.headers.get('content-security-policy')]).toStrictEqual([
      'text/html; charset=utf-8',
      "sandbox allow-same-origin; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'none'",
    ]);
    expect(await mailpit.renderMessageText(ids.rich)).toBe('Hello text part, code 123456');
    expect(await mailpit.renderMessageText(ids.plain)).toBe('just text\r\n');
    expect(await mailpit.renderMessageHTML()).toBe('<h1>Only HTML</h1><p>Second paragraph</p>\r\n');
    await expect(mailpit.renderMessageHTML(ids.plain)).rejects.toThrow('404 Not Found at GET');
    const noHtml = await request(mailroom, 'GET', `/view/${ids.plain}.html`);
    expect([noHtml.status, noHtml.type, noHtml.text]).toStrictEqual([404, 'text/plain; charset=utf-8', 'This message does not contain a HTML part']);
  });

  it('opens every link in a new window with embed=1, leaving the rest of the HTML as it was', async () => {
    const room = await mailroomForTest();
    await send(room, { subject: 'links', html: '<p><a href="https://a.test/x?a=1&amp;b=2" target="_self" rel="opener">one</a> <A HREF=/two>two</A> <b>keep</b></p>' });
    const client = new MailpitClient(room.apiUrl);
    expect(await client.renderMessageHTML('latest', 1)).toBe(
      '<p><a href="https://a.test/x?a=1&amp;b=2" target="_blank" rel="noreferrer noopener">one</a> <a href="/two" target="_blank" rel="noreferrer noopener">two</A> <b>keep</b></p>',
    );
    expect(await client.renderMessageHTML('latest')).toBe('<p><a href="https://a.test/x?a=1&amp;b=2" target="_self" rel="opener">one</a> <A HREF=/two>two</A> <b>keep</b></p>');
  });

  it("redirects cypress-mailpit's //view/ paths and /view/latest as Go's mux and Mailpit do", async () => {
    const double = await request(mailroom, 'GET', `//view/${ids.rich}.txt?x=1`);
    expect([double.status, double.headers.get('location'), double.type]).toStrictEqual([301, `/view/${ids.rich}.txt?x=1`, 'text/html; charset=utf-8']);
    expect(double.text).toBe(`<a href="/view/${ids.rich}.txt?x=1">Moved Permanently</a>.\n\n`);
    const followed = await fetch(`${mailroom.apiUrl}//view/${ids.rich}.html`);
    expect([followed.status, await followed.text()]).toStrictEqual([200, `<p>Hello <b>HTML</b> <img src="/api/v1/message/${ids.rich}/part/1.2.2"></p>`]);
    const latest = await request(mailroom, 'GET', '/view/latest');
    expect([latest.status, latest.headers.get('location')]).toStrictEqual([302, `/view/${ids.html}`]);
    const latestPlain = await request(mailroom, 'GET', '/view/latest?query=subject%3Aplain');
    expect(latestPlain.headers.get('location')).toBe(`/view/${ids.plain}`);
    expect((await request(mailroom, 'GET', `/view/${ids.plain}`)).headers.get('location')).toBe(`/#/messages/${ids.plain}`);
  });

  it("answers info and web UI settings in Mailpit's shape", async () => {
    const info = await mailpit.getInfo();
    const expected = recorded('info');
    expect(shape(info)).toStrictEqual(shape(expected.body));
    const version = (await api<{ version: string }>(mailroom, '/api/info')).body.version;
    expect(info).toMatchObject({ Version: version, LatestVersion: 'disabled', Messages: 4, Tags: {}, RuntimeStats: { SMTPAccepted: 4, MessagesDeleted: 0, SMTPRejected: 0 } });
    expect(info.Unread).toBe((await mailpit.listMessages()).unread);
    const config = await mailpit.getConfiguration();
    expect(config).toStrictEqual(recorded('webui').body);
    const raw = await request(mailroom, 'GET', '/api/v1/webui');
    expect([raw.type, raw.text.endsWith('}\n')]).toStrictEqual(['application/json', true]);
    const swagger = await request(mailroom, 'GET', '/api/v1/swagger.json');
    expect([swagger.status, swagger.headers.get('location')]).toStrictEqual([302, '/api/openapi.json']);
  });
});

describe('managing messages with the mailpit-api client', () => {
  it('sets read status by IDs, by search and for all, as every protocol sees it', async () => {
    const mailroom = await mailroomForTest();
    const mailpit = new MailpitClient(mailroom.apiUrl);
    const ids = await sendAll(mailroom);
    const unread = async (): Promise<string[]> => (await api<{ messages: { id: string; read: boolean }[] }>(mailroom, '/api/messages')).body.messages.filter((m) => !m.read).map((m) => m.id);
    expect(await mailpit.setReadStatus({ IDs: [ids.plain, ids.utf8, 'unknown-id'], Read: true })).toBe('ok');
    expect(await unread()).toStrictEqual([ids.html, ids.rich]);
    expect(await mailpit.setReadStatus({ Search: 'has:attachment', Read: true })).toBe('ok');
    expect(await unread()).toStrictEqual([ids.html]);
    expect(await mailpit.setReadStatus({ Search: `after:${new Date().toISOString().slice(0, 10)} subject:plain`, Read: false }, { tz: 'Pacific/Kiritimati' })).toBe('ok');
    expect(await unread()).toStrictEqual([ids.html, ids.plain]);
    expect(await mailpit.setReadStatus({ Read: true })).toBe('ok');
    expect(await unread()).toStrictEqual([]);
    expect((await mailpit.searchMessages({ query: 'is:unread' })).messages_count).toBe(0);
    expect(await mailpit.setReadStatus()).toBe('ok');
    expect(await unread()).toHaveLength(4);
    expect(await mailpit.listMessages()).toMatchObject({ unread: 4, messages_unread: 4 });
  });

  it('deletes by IDs, by search, and everything', async () => {
    const mailroom = await mailroomForTest();
    const mailpit = new MailpitClient(mailroom.apiUrl);
    const ids = await sendAll(mailroom);
    const left = async (): Promise<string[]> => (await mailpit.listMessages()).messages.map((m) => m.ID);
    expect(await mailpit.deleteMessages({ IDs: [ids.utf8, 'unknown-id'] })).toBe('ok');
    expect(await left()).toStrictEqual([ids.html, ids.rich, ids.plain]);
    expect(await mailpit.deleteMessagesBySearch({ query: 'subject:"HTML only"' })).toBe('ok');
    expect(await left()).toStrictEqual([ids.rich, ids.plain]);
    expect((await api<{ total: number }>(mailroom, '/api/messages')).body.total).toBe(2);
    expect(await mailpit.deleteMessages()).toBe('ok');
    expect(await left()).toStrictEqual([]);
    expect((await mailpit.getInfo()).RuntimeStats.MessagesDeleted).toBe(4);
  });

  it('waits for a message that arrives after the call', async () => {
    const mailroom = await mailroomForTest();
    const mailpit = new MailpitClient(mailroom.apiUrl);
    const waiting = mailpit.waitForMessage({ query: 'subject:"late arrival" to:late@example.test' }, { timeout: 10_000, interval: 100 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await send(mailroom, { to: 'other@example.test', subject: 'late arrival' });
    const id = await send(mailroom, { to: 'late@example.test', subject: 'late arrival', text: 'your code: 424242' });
    const message = await waiting;
    expect([message.ID, message.Subject, message.Text]).toStrictEqual([id, 'late arrival', 'your code: 424242\r\n']);
    await expect(mailpit.waitForMessage({ query: 'subject:never' }, { timeout: 300, interval: 100 })).rejects.toThrow('Timeout waiting for messages matching query "subject:never"');
  });
});

describe('bad input answered as Mailpit answers it', async () => {
  const mailroom = await useMailroom();
  const ids = await sendAll(mailroom);

  it("gives Mailpit's status, Content-Type and bare text for each recorded error", async () => {
    const { responses } = JSON.parse(readFileSync(new URL('../fixtures/compat/mailpit/errors.json', import.meta.url), 'utf8')) as {
      responses: { method: string; path: string; requestBody?: string; status: number; contentType: string; body: string }[];
    };
    for (const { method, path, requestBody, status, contentType, body } of responses) {
      const answer = await request(mailroom, method, path.replace('{id}', 'NoSuchMessage'), requestBody, requestBody === undefined ? {} : { 'content-type': 'application/json' });
      expect([answer.status, answer.type, answer.text], `${method} ${path}`).toStrictEqual([status, contentType, body]);
    }
    // None of those answers changed anything.
    expect((await api<{ total: number }>(mailroom, '/api/messages')).body.total).toBe(4);
  });

  it('reads start and limit as Go does: garbage, negative and out-of-range values fall back, and there is no cap', async () => {
    const page = async (query: string) => {
      const answer = await request(mailroom, 'GET', `/api/v1/messages?${query}`);
      expect(answer.status).toBe(200);
      return { text: answer.text, body: JSON.parse(answer.text) as { start: number; count: number; messages: { ID: string }[] } };
    };
    for (const query of ['limit=-5', 'limit=abc', 'limit=99999999999999999999', 'limit=1e3', 'limit=', 'start=-1', 'start=abc', 'start=+0']) {
      expect((await page(query)).body, query).toMatchObject({ start: 0, count: 4 });
    }
    expect((await page('limit=%2B2&start=%2B1')).body.messages.map((m) => m.ID)).toStrictEqual([ids.utf8, ids.rich]);
    // `+` in a query string is a space, which Atoi refuses, in Go as here.
    expect((await page('limit=+2')).body.count).toBe(4);
    expect((await page('limit=1000000000000000')).body.count).toBe(4);
    const huge = await page('start=9223372036854775807&limit=5');
    expect(huge.text).toContain('"start":9223372036854775807,');
    expect(huge.body.count).toBe(0);
    // limit=0 lists every message and ignores start, which is still echoed.
    const all = await page('limit=0&start=2');
    expect([all.body.start, all.body.count]).toStrictEqual([2, 4]);
    expect((await page('start=1&limit=1&start=3&limit=9')).body.messages.map((m) => m.ID)).toStrictEqual([ids.utf8]);
    const before = await page(`before=${encodeURIComponent('2000-01-01')}`);
    expect([before.body.count, (JSON.parse(before.text) as { messages_count: number }).messages_count]).toStrictEqual([0, 4]);
    expect((await page('before=not-a-date')).body.count).toBe(4);
  });

  it('answers garbage ids with 404, and `latest` in an empty mailbox as Mailpit does', async () => {
    for (const id of ['..%2F..%2Fetc%2Fpasswd', '%00', 'x'.repeat(100), "'%20OR%201=1", '%F0%9F%92%A5']) {
      const answer = await request(mailroom, 'GET', `/api/v1/message/${id}`);
      expect([answer.status, answer.type, answer.text], id.slice(0, 20)).toStrictEqual([404, 'text/plain', '404 page not found']);
    }
    // Past Fastify's 100-character limit on a path parameter no route matches: Mailroom's own 404.
    expect((await request(mailroom, 'GET', `/api/v1/message/${'x'.repeat(4000)}`)).status).toBe(404);
    const empty = await mailroomForTest();
    const latest = await request(empty, 'GET', '/api/v1/message/latest');
    expect([latest.status, latest.type, latest.text]).toStrictEqual([404, 'text/plain; charset=utf-8', 'Message not found']);
    for (const path of ['/api/v1/message/latest/headers', '/api/v1/message/latest/raw', '/api/v1/message/latest/part/1', '/view/latest.txt', '/view/latest.html']) {
      expect((await request(empty, 'GET', path)).text, path).toBe('Message not found');
    }
    expect((await request(empty, 'GET', '/api/v1/message/latest/html-check')).text).toBe('404 page not found');
    expect((await request(empty, 'GET', '/view/latest')).headers.get('location')).toBe('/');
    const search = await request(mailroom, 'GET', '/api/v1/message/latest?query=subject:nothing-matches');
    expect([search.status, search.text]).toStrictEqual([404, 'Message not found']);
  });

  it('refuses bodies past 5 MB as Go does: PUT answers 400, DELETE deletes everything', async () => {
    const local = await mailroomForTest();
    await sendAll(local);
    const big = `{"IDs":[${'"x",'.repeat(1_400_000)}"x"]}`;
    const put = await request(local, 'PUT', '/api/v1/messages', big, { 'content-type': 'application/json' });
    expect([put.status, put.type, put.text]).toStrictEqual([400, 'text/plain', 'http: request body too large']);
    expect((await new MailpitClient(local.apiUrl).listMessages()).total).toBe(4);
    const del = await request(local, 'DELETE', '/api/v1/messages', big, { 'content-type': 'application/json' });
    expect([del.status, del.text]).toStrictEqual([200, 'ok']);
    expect((await new MailpitClient(local.apiUrl).listMessages()).total).toBe(0);
  });

  it('decodes any Content-Type as JSON, and a DELETE body it cannot read deletes everything, as Mailpit does', async () => {
    const local = await mailroomForTest();
    const ids = await sendAll(local);
    const put = await request(local, 'PUT', '/api/v1/messages', `{"read":true,"ids":["${ids.plain}"]}`, { 'content-type': 'text/plain' });
    expect([put.status, put.type, put.text]).toStrictEqual([200, 'text/plain', 'ok']);
    expect((await api<{ read: boolean }>(local, `/api/messages/${ids.plain}`)).body.read).toBe(true);
    const noType = await request(local, 'PUT', '/api/v1/messages', `{"Read":true}`);
    expect(noType.text).toBe('ok');
    expect((await new MailpitClient(local.apiUrl).listMessages()).unread).toBe(0);
    const del = await request(local, 'DELETE', '/api/v1/messages', '{"IDs": [', { 'content-type': 'application/json' });
    expect([del.status, del.text]).toStrictEqual([200, 'ok']);
    expect((await new MailpitClient(local.apiUrl).listMessages()).total).toBe(0);
  });

  it('refuses searches past Mailroom’s limits with a bare 400, and deletes only what a search matches', async () => {
    const long = await request(mailroom, 'GET', `/api/v1/search?query=${'a%20'.repeat(65)}`);
    expect([long.status, long.type, long.text]).toStrictEqual([400, 'text/plain', 'search query has more than 64 terms']);
    const local = await mailroomForTest();
    const ids = await sendAll(local);
    expect((await request(local, 'DELETE', '/api/v1/search?query=has%3Aattachment')).text).toBe('ok');
    expect((await new MailpitClient(local.apiUrl).listMessages()).messages.map((m) => m.ID)).toStrictEqual([ids.html, ids.utf8, ids.plain]);
  });

  it('answers thumbnails, HTML check and link check as unavailable, in Mailpit’s error shape, and chaos triggers', async () => {
    const cases: [string, number, string][] = [
      [`/api/v1/message/latest/part/1.2.2/thumb`, 400, 'sql: no rows in result set'],
      [`/api/v1/message/${ids.rich}/part/7/thumb`, 400, 'attachment not found'],
      [`/api/v1/message/${ids.plain}/html-check`, 400, 'message does not contain HTML'],
      [`/api/v1/message/${ids.rich}/html-check`, 400, 'HTML check is not available in Mailroom'],
      [`/api/v1/message/latest/html-check?query=subject%3Aplain`, 400, 'message does not contain HTML'],
      [`/api/v1/message/${ids.rich}/link-check`, 400, 'link check is not available in Mailroom'],
      ['/api/v1/message/NoSuchMessage/link-check', 400, 'link check is not available in Mailroom'],
    ];
    for (const [path, status, text] of cases) {
      const answer = await request(mailroom, 'GET', path);
      expect([answer.status, answer.type, answer.text], path).toStrictEqual([status, 'text/plain', text]);
    }
    const mailpit = new MailpitClient(mailroom.apiUrl);
    // Chaos is always enabled in Mailroom (test/integration/compat-chaos.test.ts covers it).
    await expect(mailpit.getChaosTriggers()).resolves.toStrictEqual({
      Sender: { ErrorCode: 451, Probability: 0 },
      Recipient: { ErrorCode: 451, Probability: 0 },
      Authentication: { ErrorCode: 535, Probability: 0 },
    });
    await expect(mailpit.linkCheck(ids.rich)).rejects.toThrow('link check is not available in Mailroom');
  });

  it('answers the probes without credentials, and the API only with them', async () => {
    const guarded = await mailroomForTest({ uiAuth: { ann: 'secret' } });
    for (const path of ['/livez', '/readyz']) {
      const probe = await request(guarded, 'GET', path);
      expect([probe.status, probe.type, probe.text], path).toStrictEqual([200, null, '']);
    }
    expect((await request(guarded, 'GET', '/api/v1/messages')).status).toBe(401);
    await expect(new MailpitClient(guarded.apiUrl).listMessages()).rejects.toThrow('401');
    expect((await new MailpitClient(guarded.apiUrl, { auth: { username: 'ann', password: 'secret' } }).listMessages()).total).toBe(0);
  });

  it("leaves GET and DELETE /api/v1/messages to MailHog's API with --compat mailhog, and lists every route in the OpenAPI document", async () => {
    const mailhog = await mailroomForTest({ compat: 'mailhog' });
    const list = await request(mailhog, 'GET', '/api/v1/messages');
    expect(list.text).not.toContain('messages_count');
    expect((await request(mailhog, 'PUT', '/api/v1/messages', '{"Read":true}')).text).toBe('ok');
    expect((await request(mailhog, 'GET', '/api/v1/search?query=x')).text).toContain('"messages_count":0');
    const openapi = (await api<{ paths: Record<string, Record<string, { tags: string[] }>> }>(mailroom, '/api/openapi.json')).body;
    for (const [path, method] of [
      ['/api/v1/messages', 'put'],
      ['/api/v1/search', 'get'],
      ['/api/v1/message/{id}', 'get'],
      ['/api/v1/message/{id}/part/{partId}', 'get'],
      ['/view/{file}', 'get'],
      ['/api/v1/info', 'get'],
      ['/readyz', 'get'],
    ] as const) {
      expect(openapi.paths[path]?.[method]?.tags, `${method} ${path}`).toStrictEqual(['mailpit']);
    }
  });
});
