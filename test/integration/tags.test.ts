import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ImapFlow, type FetchMessageObject } from 'imapflow';
import type { Mailroom } from 'mailroom-catcher';
import { MailpitClient } from 'mailpit-api';
import { beforeEach, describe, expect, it } from 'vitest';
import { api, clearAll, mailroomForTest, useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

/**
 * Tags as one store feature seen everywhere: set on arrival by X-Tags and plus-addresses, over
 * Mailroom's API and Mailpit's (the unmodified `mailpit-api` client), searched with `tag:` in
 * both query languages, and shown to IMAP clients (ImapFlow, Python's imaplib) as keywords.
 */

const mailroom = await useMailroom();

interface Summary {
  id: string;
  subject: string;
  tags: string[];
}

const json = (method: string, body: unknown): RequestInit => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const subjects = async (room: Mailroom, query: string): Promise<string[]> =>
  (await api<{ messages: Summary[] }>(room, `/api/messages?query=${encodeURIComponent(query)}`)).body.messages.map((m) => m.subject);

async function imap(room: Mailroom = mailroom): Promise<ImapFlow> {
  const client = new ImapFlow({ host: room.host, port: room.ports.imap, secure: false, auth: { user: 'tester', pass: 'secret' }, logger: false });
  await client.connect();
  return client;
}

describe('tags', () => {
  beforeEach(() => clearAll(mailroom));

  it('tags mail on arrival from X-Tags and plus-addresses, and lists them in summaries and GET /api/tags', async () => {
    const id = await send(mailroom, {
      from: 'app+Signup@example.com',
      to: 'Ann <ann+Welcome+first-run@example.test>',
      bcc: 'audit+Copy@example.test',
      subject: 'Welcome',
      // nodemailer writes it as an RFC 2047 encoded word, which Mailroom decodes before cleaning.
      headers: { 'X-Tags': 'Onboarding, Café menu, onboarding' },
    });
    const summary = (await api<Summary>(mailroom, `/api/messages/${id}`)).body;
    // X-Tags first, then To, the envelope (which holds the Bcc), From; é is no Mailpit tag character.
    expect(summary.tags).toStrictEqual(['Onboarding', 'Caf menu', 'Welcome', 'first-run', 'Copy', 'Signup']);
    await send(mailroom, { to: 'bob+welcome@example.test', subject: 'Second' });
    expect((await api(mailroom, '/api/tags')).body).toStrictEqual({
      tags: [
        { name: 'Caf menu', count: 1 },
        { name: 'Copy', count: 1 },
        { name: 'first-run', count: 1 },
        { name: 'Onboarding', count: 1 },
        { name: 'Signup', count: 1 },
        { name: 'Welcome', count: 2 },
      ],
    });
    expect((await api<{ messages: Summary[] }>(mailroom, '/api/messages')).body.messages.map((m) => [m.subject, m.tags])).toStrictEqual([
      ['Second', ['Welcome']],
      ['Welcome', ['Onboarding', 'Caf menu', 'Welcome', 'first-run', 'Copy', 'Signup']],
    ]);
  });

  it('sets, renames and deletes tags over the API, refusing names IMAP could not show', async () => {
    const id = await send(mailroom, { subject: 'Tag me' });
    const other = await send(mailroom, { subject: 'Other', headers: { 'X-Tags': 'Blue' } });
    const set = await api<Summary>(mailroom, `/api/messages/${id}`, json('PATCH', { tags: ['Red', 'two words', 'BLUE'], read: true }));
    expect([set.status, set.body.tags, (set.body as unknown as { read: boolean }).read]).toStrictEqual([200, ['Red', 'two words', 'Blue'], true]);
    const bad = await api(mailroom, `/api/messages/${id}`, json('PATCH', { tags: ['ok', 'a+b'] }));
    expect([bad.status, bad.body]).toStrictEqual([
      400,
      { error: 'invalid_tag', message: '"a+b" is not a tag name: use letters, digits and punctuation other than + ( ) { } % * " \\ ], with single spaces between words, at most 128 characters' },
    ]);
    expect((await api(mailroom, `/api/messages/${id}`, json('PATCH', {}))).status).toBe(400);
    expect((await api(mailroom, '/api/messages/nope', json('PATCH', { tags: [] }))).status).toBe(404);

    expect((await api(mailroom, '/api/tags/blue', json('PATCH', { name: 'Navy' }))).body).toStrictEqual({ changed: 2 });
    const clash = await api(mailroom, '/api/tags/Navy', json('PATCH', { name: 'red' }));
    expect([clash.status, clash.body]).toStrictEqual([400, { error: 'tag_exists', message: 'The tag "red" is already in use' }]);
    expect((await api(mailroom, '/api/tags/navy', json('PATCH', { name: 'NAVY' }))).body).toStrictEqual({ changed: 2 });
    expect((await api(mailroom, `/api/tags/${encodeURIComponent('two words')}`, { method: 'DELETE' })).body).toStrictEqual({ changed: 1 });
    const missing = await api(mailroom, '/api/tags/none', { method: 'DELETE' });
    expect([missing.status, missing.body]).toStrictEqual([404, { error: 'not_found', message: 'No message has the tag "none"' }]);
    expect((await api<Summary>(mailroom, `/api/messages/${other}`)).body.tags).toStrictEqual(['NAVY']);
    expect((await api(mailroom, '/api/tags')).body).toStrictEqual({ tags: [{ name: 'NAVY', count: 2 }, { name: 'Red', count: 1 }] });
  });

  it('finds mail by tag: and is:tagged in the query language, ignoring case, whole names only', async () => {
    await send(mailroom, { subject: 'Alpha', headers: { 'X-Tags': 'Release notes' } });
    await send(mailroom, { subject: 'Beta', headers: { 'X-Tags': 'release' } });
    await send(mailroom, { subject: 'Gamma' });
    expect(await subjects(mailroom, 'tag:"release NOTES"')).toStrictEqual(['Alpha']);
    expect(await subjects(mailroom, 'tag:release')).toStrictEqual(['Beta']);
    expect(await subjects(mailroom, '-tag:release')).toStrictEqual(['Gamma', 'Alpha']);
    expect(await subjects(mailroom, 'is:tagged')).toStrictEqual(['Beta', 'Alpha']);
    expect(await subjects(mailroom, '-is:tagged')).toStrictEqual(['Gamma']);
  });

  it("answers Mailpit's tag routes to mailpit-api as Mailpit does", async () => {
    const mailpit = new MailpitClient(mailroom.apiUrl);
    const a = await send(mailroom, { subject: 'A', headers: { 'X-Tags': 'zeta, Alpha' } });
    const b = await send(mailroom, { subject: 'B' });
    expect(await mailpit.getTags()).toStrictEqual(['Alpha', 'zeta']);
    expect(await mailpit.setTags({ IDs: [b, 'unknown-id'], Tags: ['  Beta!! tag ', 'alpha', 'ALPHA', ''] })).toBe('ok');
    expect((await mailpit.getMessageSummary(b)).Tags).toStrictEqual(['Alpha', 'Beta tag']);
    expect((await mailpit.listMessages()).tags).toStrictEqual(['Alpha', 'Beta tag', 'zeta']);
    expect((await mailpit.listMessages()).messages.map((m) => [m.Subject, m.Tags])).toStrictEqual([
      ['B', ['Alpha', 'Beta tag']],
      ['A', ['Alpha', 'zeta']],
    ]);
    expect((await mailpit.searchMessages({ query: 'tag:"beta tag"' })).messages.map((m) => m.Subject)).toStrictEqual(['B']);
    expect((await mailpit.searchMessages({ query: '!tag:beta' })).messages.map((m) => m.Subject)).toStrictEqual(['B', 'A']);
    expect((await mailpit.getInfo()).Tags).toStrictEqual({ Alpha: 2, 'Beta tag': 1, zeta: 1 });

    expect(await mailpit.renameTag('zeta', 'Omega')).toBe('ok');
    expect((await mailpit.getMessageSummary(a)).Tags).toStrictEqual(['Alpha', 'Omega']);
    await expect(mailpit.renameTag('Omega', 'alpha')).rejects.toThrow('tag already exists: alpha');
    await expect(mailpit.renameTag('missing', 'x')).rejects.toThrow('tag not found: missing');
    await expect(mailpit.renameTag('Omega', '!!!')).rejects.toThrow('invalid tag name: ');
    expect(await mailpit.deleteTag('alpha')).toBe('ok');
    await expect(mailpit.deleteTag('alpha')).rejects.toThrow('tag not found: alpha');
    expect(await mailpit.setTags({ IDs: [a] })).toBe('ok');
    expect(await mailpit.getTags()).toStrictEqual(['Beta tag']);
  });

  it("answers Mailpit's exact bytes on the tag routes' errors", async () => {
    const put = await fetch(`${mailroom.apiUrl}/api/v1/tags`, { method: 'PUT' });
    expect([put.status, put.headers.get('content-type'), await put.text()]).toStrictEqual([400, 'text/plain', 'EOF']);
    const del = await fetch(`${mailroom.apiUrl}/api/v1/tags/${encodeURIComponent('no such')}`, { method: 'DELETE' });
    expect([del.status, del.headers.get('content-type'), await del.text()]).toStrictEqual([400, 'text/plain', 'tag not found: no such']);
    const list = await fetch(`${mailroom.apiUrl}/api/v1/tags`);
    expect([list.status, list.headers.get('content-type'), await list.text()]).toStrictEqual([200, 'application/json', '[]\n']);
  });

  it('shows tags to ImapFlow as keywords, spaces written as +, and takes keywords it stores as tags', async () => {
    const id = await send(mailroom, { subject: 'Keywords', headers: { 'X-Tags': 'Two words, Single' } });
    const client = await imap();
    const mailbox = await client.mailboxOpen('INBOX');
    expect([...mailbox.flags].filter((f) => !f.startsWith('\\'))).toStrictEqual(['Two+words', 'Single']);
    const before = (await client.fetchOne('1', { flags: true })) as FetchMessageObject;
    expect([...before.flags!]).toStrictEqual(['\\Recent', 'Two+words', 'Single']);
    await client.messageFlagsAdd('1', ['$Forwarded', 'From+IMAP']);
    await client.messageFlagsRemove('1', ['single']);
    expect((await api<Summary>(mailroom, `/api/messages/${id}`)).body.tags).toStrictEqual(['Two words', '$Forwarded', 'From IMAP']);
    const search = await client.search({ keyword: 'from+imap' });
    expect(search).toStrictEqual([1]);
    await client.logout();
  });

  it('tells an idling IMAP client about tags changed over the API', async () => {
    const id = await send(mailroom, { subject: 'Watched' });
    const client = await imap();
    await client.mailboxOpen('INBOX');
    const changed = new Promise<{ flags: Set<string> }>((resolve) => client.once('flags', resolve));
    const idling = client.idle();
    await api(mailroom, `/api/messages/${id}`, json('PATCH', { tags: ['Seen by API'] }));
    expect([...(await changed).flags]).toStrictEqual(['\\Recent', 'Seen+by+API']);
    await client.logout();
    await idling;
  });

  it("shows Python imaplib's STORE of a keyword as a tag", async () => {
    const id = await send(mailroom, { subject: 'Python' });
    const script = [
      'import imaplib, sys',
      'm = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]))',
      'm.login("tester", "secret")',
      'm.select("INBOX")',
      'typ, data = m.store("1", "+FLAGS", "(Needs+review)")',
      'print(data[0].decode())',
      'm.logout()',
    ].join('\n');
    // Asynchronously: Mailroom answers from this process.
    const { stdout } = await promisify(execFile)('python3', ['-c', script, mailroom.host, String(mailroom.ports.imap)], { encoding: 'utf8', timeout: 10_000 });
    expect(stdout).toBe('1 (FLAGS (\\Recent Needs+review))\n');
    expect((await api<Summary>(mailroom, `/api/messages/${id}`)).body.tags).toStrictEqual(['Needs review']);
  });

  it('takes no tags on arrival with --auto-tags none, and only plus-addresses with --auto-tags plus-addresses', async () => {
    const none = await mailroomForTest({ autoTags: [] });
    const id = await send(none, { to: 'a+plus@example.test', subject: 'x', headers: { 'X-Tags': 'header' } });
    expect((await api<Summary>(none, `/api/messages/${id}`)).body.tags).toStrictEqual([]);
    const plus = await mailroomForTest({ autoTags: ['plus-addresses'] });
    const other = await send(plus, { to: 'a+plus@example.test', subject: 'x', headers: { 'X-Tags': 'header' } });
    expect((await api<Summary>(plus, `/api/messages/${other}`)).body.tags).toStrictEqual(['plus']);
  });
});
