import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import pino from 'pino';
import type { Mailroom } from 'mailroom-catcher';
import { describe, expect, it } from 'vitest';
import { startChildMailroom, type ChildMailroom } from '../helpers/child-mailroom.js';
import { tempDir } from '../helpers/temp-dir.js';
import { api, mailroomForTest } from '../helpers/mailroom.js';
import { Pop3Client } from '../helpers/dovecot/pop3-client.js';
import { send } from '../helpers/send.js';
import { SmtpWire, type Reply } from '../helpers/smtp-wire.js';

interface Summary {
  id: string;
  subject: string;
  read: boolean;
  tags: string[];
  receivedAt: string;
  size: number;
  envelope: { mailFrom: string; rcptTo: string[] };
}

const dataDir = (): Promise<string> => tempDir('data');

async function listAll(apiUrl: string): Promise<Summary[]> {
  const all: Summary[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = (await (await fetch(`${apiUrl}/api/messages?limit=1000&offset=${offset}`)).json()) as { messages: Summary[] };
    all.push(...page.messages);
    if (page.messages.length < 1000) return all;
  }
}

async function rawOf(apiUrl: string, id: string): Promise<Buffer> {
  return Buffer.from(await (await fetch(`${apiUrl}/api/messages/${id}/raw`)).arrayBuffer());
}

/** Every file name in the Maildir's three directories. */
async function files(dir: string): Promise<{ tmp: string[]; new: string[]; cur: string[] }> {
  const [tmp, fresh, cur] = await Promise.all(['tmp', 'new', 'cur'].map(async (sub) => (await readdir(join(dir, sub))).sort()));
  return { tmp: tmp!, new: fresh!, cur: cur! };
}

/** A logger whose JSON lines the test can read. */
function capturedLogger(): { logger: pino.Logger; lines: () => { level: number; msg: string; file?: string }[] } {
  const chunks: string[] = [];
  const logger = pino({ level: 'info' }, { write: (chunk: string) => void chunks.push(chunk) });
  return { logger, lines: () => chunks.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line)) };
}

async function imapClient(room: Mailroom, user = 'tester'): Promise<ImapFlow> {
  const imap = new ImapFlow({ host: room.host, port: room.ports.imap, secure: false, auth: { user, pass: 'pw' }, logger: false });
  await imap.connect();
  return imap;
}

/** What IMAP says of INBOX: UIDVALIDITY, UIDNEXT and every message's UID and flags (\Recent aside, which is per session). */
async function imapState(room: Mailroom): Promise<{ uidValidity: string; uidNext: number; messages: [number, string[]][] }> {
  const imap = await imapClient(room);
  const box = await imap.mailboxOpen('INBOX', { readOnly: true });
  const messages: [number, string[]][] = [];
  if (box.exists > 0) for await (const m of imap.fetch('1:*', { uid: true, flags: true })) messages.push([m.uid, [...(m.flags ?? [])].filter((f) => f !== '\\Recent').sort()]);
  await imap.logout();
  return { uidValidity: String(box.uidValidity), uidNext: box.uidNext, messages };
}

/** Every mailbox a user has, with its subscription, UIDVALIDITY, UIDNEXT and every message's UID, flags and bytes. */
async function accountState(room: Mailroom, user: string): Promise<unknown[]> {
  const imap = await imapClient(room, user);
  const state: unknown[] = [];
  // ImapFlow's list asks LSUB too and marks the subscribed ones.
  for (const { path, subscribed } of (await imap.list()).sort((a, b) => (a.path < b.path ? -1 : 1))) {
    const box = await imap.mailboxOpen(path, { readOnly: true });
    const messages: unknown[] = [];
    if (box.exists > 0) {
      for await (const m of imap.fetch('1:*', { uid: true, flags: true, source: true, internalDate: true })) {
        messages.push([m.uid, [...(m.flags ?? [])].filter((f) => f !== '\\Recent').sort(), m.source!.toString('latin1'), String(m.internalDate)]);
      }
    }
    state.push({ path, subscribed, uidValidity: String(box.uidValidity), uidNext: box.uidNext, messages });
  }
  await imap.logout();
  return state;
}

async function pop3Uidl(room: Mailroom): Promise<string> {
  const pop = await Pop3Client.connect(room.ports.pop3);
  await pop.command('USER tester');
  await pop.command('PASS pw');
  const uidl = await pop.command('UIDL');
  await pop.command('QUIT');
  return uidl;
}

describe('--data-dir', () => {
  it('comes back from a restart exactly: ids, uids, UIDVALIDITY, flags, tags, envelopes, POP3 UIDLs and each user’s folders', async () => {
    const dir = await dataDir();
    const first = await mailroomForTest({ dataDir: dir });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push(await send(first, { subject: `Message ${i}`, to: `user${i}@example.com`, bcc: 'hidden@example.com', text: `body ${i}`, headers: i === 2 ? { 'X-Tags': 'Billing, Urgent' } : {} }));
    }
    const imap = await imapClient(first);
    await imap.mailboxOpen('INBOX');
    await imap.messageFlagsAdd('1', ['\\Flagged', '\\Answered'], { uid: true });
    await imap.messageFlagsAdd('2', ['\\Draft', 'Needs+review'], { uid: true });
    await imap.logout();
    expect((await api(first, `/api/messages/${ids[3]}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ read: true }) })).status).toBe(200);
    const pop = await Pop3Client.connect(first.ports.pop3);
    await pop.command('USER tester');
    await pop.command('PASS pw');
    expect(await pop.command('DELE 5')).toMatch(/^\+OK/);
    expect(await pop.command('QUIT')).toBe('+OK Mailroom POP3 signing off (1 message deleted)');

    // Folders: a hierarchy, a name with a dot (Maildir++'s separator), copies and a move, flags there, subscriptions, a second user.
    const filer = await imapClient(first);
    await filer.mailboxCreate('Projects/Alpha');
    await filer.mailboxCreate('Keep.it');
    await filer.mailboxOpen('INBOX');
    await filer.messageCopy('1:2', 'Projects/Alpha', { uid: true });
    await filer.messageCopy('3', 'Keep.it', { uid: true });
    await filer.messageMove('4', 'Trash', { uid: true });
    await filer.mailboxOpen('Projects/Alpha');
    await filer.messageFlagsAdd('2', ['\\Seen', 'Filed'], { uid: true });
    await filer.messageDelete('1', { uid: true });
    await filer.mailboxSubscribe('Keep.it');
    await filer.mailboxUnsubscribe('Drafts');
    await filer.mailboxDelete('Sent');
    await filer.mailboxRename('Projects', 'Work');
    await filer.append('Drafts', 'From: me@example.com\r\nSubject: Draft\r\n\r\nunfinished\r\n', ['\\Draft'], new Date('2026-01-02T03:04:05Z'));
    await filer.logout();
    const other = await imapClient(first, 'qa@example.com');
    await other.mailboxCreate('Mine');
    await other.logout();

    const before = { list: await listAll(first.apiUrl), imap: await imapState(first), uidl: await pop3Uidl(first), tester: await accountState(first, 'tester'), qa: await accountState(first, 'QA@example.com') };
    const shape = (state: unknown[]): unknown[] =>
      (state as { path: string; subscribed?: boolean; messages: [number, string[]][] }[]).map((m) => [m.path, m.subscribed ?? false, m.messages.map(([uid, flags]) => [uid, flags])]) as unknown[];
    // ImapFlow subscribes to what it creates; Projects (now Work) came as Alpha's superior, unsubscribed.
    expect(shape(before.tester)).toStrictEqual([
      ['Drafts', false, [[1, ['\\Draft']]]],
      ['INBOX', true, [[1, ['\\Answered', '\\Flagged']], [2, ['Needs+review', '\\Draft']], [3, ['Billing', 'Urgent']], [6, []]]],
      ['Keep.it', true, [[1, ['Billing', 'Urgent']]]],
      ['Trash', true, [[1, ['\\Seen']]]],
      ['Work', false, []],
      ['Work/Alpha', true, [[2, ['Filed', 'Needs+review', '\\Draft', '\\Seen']]]],
    ]);
    // Each folder is a Maildir++ folder named after its user and path, the rename moved too.
    expect((await readdir(dir)).filter((name) => name.startsWith('.')).sort()).toStrictEqual([
      '.qa@example\\2ecom.Drafts',
      '.qa@example\\2ecom.Mine',
      '.qa@example\\2ecom.Sent',
      '.qa@example\\2ecom.Trash',
      '.tester.Drafts',
      '.tester.Keep\\2eit',
      '.tester.Trash',
      '.tester.Work',
      '.tester.Work.Alpha',
    ]);
    expect(shape(before.qa)).toStrictEqual([
      ['Drafts', true, []],
      ['INBOX', true, []],
      ['Mine', true, []],
      ['Sent', true, []],
      ['Trash', true, []],
    ]);
    const raws = await Promise.all(before.list.map((m) => rawOf(first.apiUrl, m.id)));
    expect(before.list).toHaveLength(4);
    expect(before.list.find((m) => m.id === ids[2])!.tags).toStrictEqual(['Billing', 'Urgent']);
    expect(before.list.find((m) => m.id === ids[1])!.tags).toStrictEqual(['Needs review']);
    await first.close();

    const second = await mailroomForTest({ dataDir: dir });
    expect(await listAll(second.apiUrl)).toStrictEqual(before.list);
    expect(await imapState(second)).toStrictEqual(before.imap);
    expect(await pop3Uidl(second)).toStrictEqual(before.uidl);
    expect(await accountState(second, 'tester')).toStrictEqual(before.tester);
    expect(await accountState(second, 'qa@example.com')).toStrictEqual(before.qa);
    expect(await Promise.all(before.list.map((m) => rawOf(second.apiUrl, m.id)))).toStrictEqual(raws);
    // The next message continues the uids rather than reusing the deleted one's.
    await send(second, { subject: 'After the restart' });
    const after = await imapState(second);
    expect(after.messages.at(-1)![0]).toBe(before.imap.uidNext);
  });

  it('keeps the exact bytes in files named by the Maildir rules, flags in the info', async () => {
    const dir = await dataDir();
    const room = await mailroomForTest({ dataDir: dir });
    const id = await send(room, { subject: 'On disk', text: 'x'.repeat(3000) });
    const raw = await rawOf(room.apiUrl, id);
    // The 250 waits for the journal, which holds the message; its file follows at once.
    await expect.poll(() => files(dir)).toStrictEqual({ tmp: [], new: [expect.stringMatching(new RegExp(`^\\d{10}\\.${id}\\.mailroom,S=${raw.length}$`))], cur: [] });
    let listed = await files(dir);
    expect(await readFile(join(dir, 'new', listed.new[0]!))).toStrictEqual(raw);
    await api(room, `/api/messages/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ read: true }) });
    const imap = await imapClient(room);
    await imap.mailboxOpen('INBOX');
    await imap.messageFlagsAdd('1:*', ['\\Flagged']);
    await imap.logout();
    listed = await files(dir);
    expect(listed).toStrictEqual({ tmp: [], new: [], cur: [expect.stringMatching(new RegExp(`^\\d{10}\\.${id}\\.mailroom,S=${raw.length}:2,FS$`))] });
    const info = await api<{ dataDir: { path: string; bytes: number } }>(room, '/api/info');
    const journal = await readFile(join(dir, 'mailroom-journal.jsonl'));
    expect(info.body.dataDir).toStrictEqual({ path: dir, bytes: raw.length + journal.length });
  });

  it('removes the files of messages deleted over the API, IMAP EXPUNGE, POP3, a clear and eviction', async () => {
    const dir = await dataDir();
    const room = await mailroomForTest({ dataDir: dir, maxMessages: 4 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await send(room, { subject: `Gone ${i}` }));
    // Files go just behind the replies (each deletion is in the journal before it is answered), so the checks wait for them.
    const named = async (): Promise<string[]> => (await files(dir)).new.map((name) => name.split('.')[1]!).sort();
    await expect.poll(named).toStrictEqual(ids.slice(1).sort());
    expect((await api(room, `/api/messages/${ids[1]}`, { method: 'DELETE' })).status).toBe(200);
    const imap = await imapClient(room);
    await imap.mailboxOpen('INBOX');
    await imap.messageDelete('1');
    await imap.logout();
    await expect.poll(named).toStrictEqual([ids[3]!, ids[4]!].sort());
    const pop = await Pop3Client.connect(room.ports.pop3);
    await pop.command('USER tester');
    await pop.command('PASS pw');
    await pop.command('DELE 1');
    await pop.command('QUIT');
    await expect.poll(named).toStrictEqual([ids[4]!]);
    expect((await api(room, '/api/messages', { method: 'DELETE' })).body).toStrictEqual({ deleted: 1 });
    await expect.poll(() => files(dir)).toStrictEqual({ tmp: [], new: [], cur: [] });
    await room.close();
    const again = await mailroomForTest({ dataDir: dir });
    expect(await listAll(again.apiUrl)).toStrictEqual([]);
  });

  it('takes in files it did not write with fresh uids and skips broken ones with one warning each', async () => {
    const dir = await dataDir();
    const first = await mailroomForTest({ dataDir: dir });
    const kept = await send(first, { subject: 'Mailroom wrote this' });
    const uidNext = (await imapState(first)).uidNext;
    await first.close();
    const dropped = 'From: someone@example.org\r\nTo: dev@example.com\r\nSubject: Dropped by hand\r\n\r\nHello\r\n';
    await writeFile(join(dir, 'new', '1700000000.M1P1.elsewhere'), dropped);
    const copied = 'From: other@example.org\r\nTo: qa@example.com\r\nSubject: Copied, already seen\r\n\r\nHi\r\n';
    await writeFile(join(dir, 'cur', '1700000100.M2P2.elsewhere,S=' + Buffer.byteLength(copied) + ':2,FS'), copied);
    await writeFile(join(dir, 'cur', `1700000200.M3P3.elsewhere,S=500:2,S`), 'Subject: cut short\r\n\r\nonly part');
    await mkdir(join(dir, 'new', '1700000300.M4P4.elsewhere'));
    // Left in tmp/ by a crash before it was acknowledged: not a message.
    await writeFile(join(dir, 'tmp', '1700000400.AAAAAAAAAAAAAAAA.mailroom,S=10'), 'Subject: x');
    const { logger, lines } = capturedLogger();
    const second = await mailroomForTest({ dataDir: dir, logger });
    const list = await listAll(second.apiUrl);
    expect(list.map((m) => [m.subject, m.read, m.envelope])).toStrictEqual([
      ['Copied, already seen', true, { mailFrom: 'other@example.org', rcptTo: ['qa@example.com'] }],
      ['Dropped by hand', false, { mailFrom: 'someone@example.org', rcptTo: ['dev@example.com'] }],
      ['Mailroom wrote this', false, { mailFrom: 'app@example.com', rcptTo: ['user@example.com'] }],
    ]);
    expect(list[2]!.id).toBe(kept);
    expect((await rawOf(second.apiUrl, list[1]!.id)).toString()).toBe(dropped);
    const state = await imapState(second);
    expect(state.messages).toStrictEqual([
      [uidNext - 1, []],
      [uidNext, []],
      [uidNext + 1, ['\\Flagged', '\\Seen']],
    ]);
    const warnings = lines().filter((line) => line.level === 40);
    // Files are read in parallel, so the warnings come in any order.
    expect(warnings.map((w) => [w.msg, w.file]).sort()).toStrictEqual([
      ['a message file was skipped: it cannot be read', join(dir, 'new', '1700000300.M4P4.elsewhere')],
      ['a message file was skipped: it holds 31 bytes where its name says 500, so it was cut short', join(dir, 'cur', '1700000200.M3P3.elsewhere,S=500:2,S')],
    ]);
    expect((await files(dir)).tmp).toStrictEqual([]);
    // Taken in once: a second restart keeps their uids.
    await second.close();
    const third = await mailroomForTest({ dataDir: dir, logger: pino({ level: 'silent' }) });
    expect(await imapState(third)).toStrictEqual(state);
  });

  it('refuses a second Mailroom on the same directory, naming the owner', async () => {
    const dir = await dataDir();
    const owner = await startChildMailroom(['--data-dir', dir]);
    await expect(startChildMailroom(['--data-dir', dir])).rejects.toThrow(
      `mailroom: --data-dir: ${dir} is in use by another Mailroom (pid ${owner.pid}); stop it, or give this one another directory`,
    );
    expect(owner.alive()).toBe(true);
  });
});

/** One connection sending its share of the messages, one at a time, noting each id the server acknowledged. */
async function sender(port: number, messages: readonly Buffer[], acked: Map<string, number>, onAck: () => void, next: () => number): Promise<void> {
  const wire = await SmtpWire.open(port);
  const closed = wire.closed.then(() => null);
  const reply = (): Promise<Reply | null> => Promise.race([wire.reply(), closed]);
  if ((await reply())?.code !== 220) return;
  wire.write('EHLO crash.test\r\n');
  if ((await reply())?.code !== 250) return;
  for (let i = next(); i < messages.length; i = next()) {
    wire.write(`MAIL FROM:<sender${i}@crash.test>\r\nRCPT TO:<rcpt${i}@crash.test>\r\nRCPT TO:<bcc${i}@crash.test>\r\nDATA\r\n`);
    for (let r = 0; r < 4; r++) if ((await reply()) === null) return;
    wire.write(messages[i]!);
    wire.write('.\r\n');
    const done = await reply();
    if (done === null) return;
    const id = /queued as (\S+)/.exec(done.text)?.[1];
    if (done.code !== 250 || id === undefined) throw new Error(`message ${i}: ${done.text}`);
    acked.set(id, i);
    onAck();
  }
  wire.socket.destroy();
}

function crashMessage(i: number): Buffer {
  const line = `Line of message ${i}, padded to look like mail.`.padEnd(76, '.');
  return Buffer.from(`From: sender${i}@crash.test\r\nTo: rcpt${i}@crash.test\r\nSubject: Crash ${i}\r\nMessage-ID: <${i}@crash.test>\r\n\r\n${`${line}\r\n`.repeat(25)}`);
}

describe('--data-dir under a crash and a full disk', () => {
  it('loses nothing acknowledged when killed with SIGKILL in the middle of 2,000 messages from 10 connections', async () => {
    const dir = await dataDir();
    const messages = Array.from({ length: 2000 }, (_, i) => crashMessage(i));
    const first = await startChildMailroom(['--data-dir', dir]);
    const acked = new Map<string, number>();
    let next = 0;
    let killed = false;
    const onAck = (): void => {
      if (killed || acked.size < 1000) return;
      killed = true;
      process.kill(first.pid, 'SIGKILL');
    };
    await Promise.all(Array.from({ length: 10 }, () => sender(first.ports.smtp, messages, acked, onAck, () => next++)));
    expect(killed).toBe(true);
    await waitForExit(first);

    const second = await startChildMailroom(['--data-dir', dir]);
    const list = await listAll(second.apiUrl);
    const byId = new Map(list.map((m) => [m.id, m]));
    for (const [id, i] of acked) {
      const summary = byId.get(id);
      expect(summary, `acknowledged message ${i} (${id})`).toBeDefined();
      expect(summary!.envelope).toStrictEqual({ mailFrom: `sender${i}@crash.test`, rcptTo: [`rcpt${i}@crash.test`, `bcc${i}@crash.test`] });
      expect([summary!.read, summary!.tags]).toStrictEqual([false, []]);
    }
    // Anything else stored was sent whole (its 250 lost with the connection): no half-written message.
    for (const summary of list) {
      const raw = await rawOf(second.apiUrl, summary.id);
      const i = Number(/Subject: Crash (\d+)/.exec(raw.toString())?.[1]);
      expect(raw, `stored message ${summary.id}`).toStrictEqual(messages[i]);
      if (acked.has(summary.id)) expect(acked.get(summary.id)).toBe(i);
    }
    expect(list.length).toBeGreaterThanOrEqual(acked.size);
    expect(list.length).toBeLessThanOrEqual(acked.size + 10);
    expect((await files(dir)).tmp).toStrictEqual([]);
  }, 120_000);

  it('answers 452 when the disk is full, stores nothing of the refused message and keeps running', async () => {
    const dir = await dataDir();
    // 64 KiB per file: larger messages cannot be written, and the journal fills after a few hundred lines.
    const room = await startChildMailroom(['--data-dir', dir], 15_000, { fileSizeKiB: 64 });
    const wire = await SmtpWire.open(room.ports.smtp);
    await wire.reply();
    await wire.command('EHLO full.test');
    const sendOne = async (body: string): Promise<Reply> => {
      await wire.command('MAIL FROM:<full@example.test>');
      await wire.command('RCPT TO:<inbox@example.test>');
      await wire.command('DATA');
      return wire.command(`Subject: full\r\n\r\n${body}\r\n.`);
    };
    // smtp-server gives 452 its enhanced code X.2.2 (RFC 3463).
    expect((await sendOne('y'.repeat(100 * 1024))).text).toBe('452 4.2.2 Insufficient system storage');
    expect((await files(dir)).tmp).toStrictEqual([]);
    const accepted: string[] = [];
    let refused: Reply | null = null;
    for (let i = 0; i < 1000 && refused === null; i++) {
      const reply = await sendOne(`small ${i}`);
      if (reply.code === 250) accepted.push(/queued as (\S+)/.exec(reply.text)![1]!);
      else refused = reply;
    }
    expect(refused?.text).toBe('452 4.2.2 Insufficient system storage');
    expect(accepted.length).toBeGreaterThan(50);
    expect(room.alive()).toBe(true);
    const stored = await listAll(room.apiUrl);
    expect(stored.map((m) => m.id).sort()).toStrictEqual([...accepted].sort());
    expect((await files(dir)).tmp).toStrictEqual([]);
    expect((await files(dir)).new).toHaveLength(accepted.length);
    // IMAP's APPEND is refused with RFC 5530's UNAVAILABLE.
    const imap = new ImapFlow({ host: '127.0.0.1', port: room.ports.imap, secure: false, auth: { user: 'tester', pass: 'pw' }, logger: false });
    await imap.connect();
    await expect(imap.append('INBOX', `Subject: appended\r\n\r\n${'z'.repeat(2000)}\r\n`)).rejects.toMatchObject({
      serverResponseCode: 'UNAVAILABLE',
      responseText: 'The data directory is full',
    });
    await imap.logout();
    // A change that cannot be written is refused over the API too.
    const patch = await fetch(`${room.apiUrl}/api/messages/${accepted[0]}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tags: ['a', 'b', 'c', 'd', 'e'].map((c) => c.repeat(60)) }) });
    expect([patch.status, await patch.json()]).toStrictEqual([507, { error: 'insufficient_storage', message: 'The data directory is full; nothing was changed' }]);
    await wire.command('QUIT');
    await room.stop();

    const after = await startChildMailroom(['--data-dir', dir]);
    expect((await listAll(after.apiUrl)).map((m) => m.id).sort()).toStrictEqual([...accepted].sort());
  }, 60_000);
});

function waitForExit(child: ChildMailroom): Promise<void> {
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      if (child.alive()) return;
      clearInterval(poll);
      resolve();
    }, 10);
  });
}
