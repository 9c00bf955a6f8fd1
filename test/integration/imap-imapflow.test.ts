import { ImapFlow, type FetchMessageObject } from 'imapflow';
import type { Mailroom } from 'mailroom-catcher';
import { beforeEach, describe, expect, it } from 'vitest';
import { api, clearAll, useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

const mailroom = await useMailroom();

async function client(room: Mailroom = mailroom, user = 'tester'): Promise<ImapFlow> {
  const imap = new ImapFlow({ host: room.host, port: room.ports.imap, secure: false, auth: { user, pass: 'secret' }, logger: false });
  await imap.connect();
  return imap;
}

/** Resolves with the first event of that name the client emits. */
function next<T>(imap: ImapFlow, event: string): Promise<T> {
  return new Promise((resolve) => imap.once(event, resolve));
}

describe('IMAP with ImapFlow', () => {
  beforeEach(() => clearAll(mailroom));

  it('lists the mailboxes with their special uses', async () => {
    const imap = await client();
    // ImapFlow orders special-use folders its own way, so the order is not the server's.
    const list = (await imap.list()).sort((a, b) => a.path.localeCompare(b.path));
    expect(list.map((m) => [m.path, m.specialUse ?? null, m.delimiter])).toStrictEqual([
      ['Drafts', '\\Drafts', '/'],
      ['INBOX', '\\Inbox', '/'],
      ['Sent', '\\Sent', '/'],
      ['Trash', '\\Trash', '/'],
    ]);
    await imap.logout();
  });

  it('fetches envelope, structure, flags and source of captured mail', async () => {
    const id = await send(mailroom, {
      from: 'Alice <alice@example.com>',
      to: 'bob@example.com',
      subject: 'Grüße',
      text: 'plain body',
      attachments: [{ filename: 'a.txt', content: 'attached' }],
    });
    const raw = (await api<string>(mailroom, `/api/messages/${id}/raw`)).body;
    const imap = await client();
    const mailbox = await imap.mailboxOpen('INBOX');
    expect(mailbox.exists).toBe(1);
    const message = (await imap.fetchOne('1', { uid: true, flags: true, envelope: true, bodyStructure: true, source: true, size: true })) as FetchMessageObject;
    expect(message.envelope?.subject).toBe('Grüße');
    expect(message.envelope?.from).toStrictEqual([{ name: 'Alice', address: 'alice@example.com' }]);
    expect(message.bodyStructure?.type).toBe('multipart/mixed');
    expect(message.bodyStructure?.childNodes?.map((n) => [n.part, n.type, n.dispositionParameters?.filename ?? null])).toStrictEqual([
      ['1', 'text/plain', null],
      ['2', 'text/plain', 'a.txt'],
    ]);
    expect(message.source?.toString('latin1')).toBe(raw);
    expect(message.size).toBe(Buffer.byteLength(raw, 'latin1'));
    expect([...(message.flags ?? [])]).toStrictEqual(['\\Recent']);
    await imap.logout();
  });

  it('shares \\Seen with the API read state, both ways, and tells other sessions', async () => {
    const id = await send(mailroom, { subject: 'read me' });
    const [writer, watcher] = [await client(), await client()];
    await writer.mailboxOpen('INBOX');
    await watcher.mailboxOpen('INBOX');
    const flagged = next<{ flags: Set<string> }>(watcher, 'flags');
    await writer.messageFlagsAdd('1', ['\\Seen']);
    expect((await api<{ read: boolean }>(mailroom, `/api/messages/${id}`)).body.read).toBe(true);
    await watcher.noop();
    expect([...(await flagged).flags]).toContain('\\Seen');
    await api(mailroom, `/api/messages/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ read: false }) });
    const message = (await writer.fetchOne('1', { flags: true })) as FetchMessageObject;
    expect(message.flags?.has('\\Seen')).toBe(false);
    await Promise.all([writer.logout(), watcher.logout()]);
  });

  it('searches, appends, copies and moves between folders with UIDPLUS answers', async () => {
    await send(mailroom, { subject: 'alpha one', from: 'alice@example.com' });
    await send(mailroom, { subject: 'beta two', from: 'bob@example.com' });
    const imap = await client();
    await imap.mailboxCreate('Archive/2026');
    await imap.mailboxOpen('INBOX');
    expect(await imap.search({ from: 'bob' })).toStrictEqual([2]);
    expect(await imap.search({ subject: 'alpha' }, { uid: true })).toHaveLength(1);
    const copied = await imap.messageCopy('1:2', 'Archive/2026');
    expect(copied).toMatchObject({ path: 'INBOX', destination: 'Archive/2026' });
    expect([...(copied as { uidMap: Map<number, number> }).uidMap.values()]).toStrictEqual([1, 2]);
    const moved = await imap.messageMove('1', 'Trash');
    expect((moved as { uidMap: Map<number, number> }).uidMap.size).toBe(1);
    expect((await api<{ total: number }>(mailroom, '/api/messages')).body.total).toBe(1);
    const appended = await imap.append('Archive/2026', 'Subject: kept\r\n\r\nbody\r\n', ['\\Flagged'], new Date('2025-06-01T12:00:00Z'));
    expect(appended).toMatchObject({ destination: 'Archive/2026', uid: 3 });
    const status = await imap.status('Archive/2026', { messages: true, uidNext: true, unseen: true });
    expect(status).toMatchObject({ path: 'Archive/2026', messages: 3, uidNext: 4, unseen: 3 });
    await imap.mailboxOpen('Archive/2026');
    const dates: string[] = [];
    for await (const message of imap.fetch('1:*', { internalDate: true, flags: true })) {
      // imapflow hands over the server's text as it came when it does not parse as a date.
      const date = message.internalDate instanceof Date ? message.internalDate.toISOString() : message.internalDate;
      dates.push(`${date} ${[...(message.flags ?? [])].join(' ')}`);
    }
    expect(dates[2]).toBe('2025-06-01T12:00:00.000Z \\Flagged \\Recent');
    await imap.mailboxRename('Archive', 'Old');
    expect((await imap.list()).map((m) => m.path).sort()).toStrictEqual(['Drafts', 'INBOX', 'Old', 'Old/2026', 'Sent', 'Trash']);
    await imap.logout();
  });

  it('reports mail arriving over SMTP and deleted through the API while idling', async () => {
    await send(mailroom, { subject: 'first' });
    const imap = await client();
    await imap.mailboxOpen('INBOX');
    const exists = next<{ count: number; prevCount: number }>(imap, 'exists');
    const idling = imap.idle();
    const started = Date.now();
    const second = await send(mailroom, { subject: 'second' });
    expect(await exists).toMatchObject({ count: 2, prevCount: 1 });
    expect(Date.now() - started).toBeLessThan(1000);
    const expunged = next<{ seq: number }>(imap, 'expunge');
    await api(mailroom, `/api/messages/${second}`, { method: 'DELETE' });
    expect((await expunged).seq).toBe(2);
    await imap.logout();
    await idling.catch(() => undefined);
  });

  it('sees only mail addressed to an address user name', async () => {
    await send(mailroom, { to: 'carol@example.com', subject: 'for carol' });
    await send(mailroom, { to: 'dave@example.com', subject: 'for dave' });
    const imap = await client(mailroom, 'carol@example.com');
    const box = await imap.mailboxOpen('INBOX');
    expect(box.exists).toBe(1);
    const message = (await imap.fetchOne('1', { envelope: true })) as FetchMessageObject;
    expect(message.envelope?.subject).toBe('for carol');
    await imap.logout();
  });
});
