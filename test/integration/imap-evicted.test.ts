import { afterAll, describe, expect, it } from 'vitest';
import { ImapClient, openImap, startDovecot, stripTimings, type Dovecot } from '../helpers/dovecot/dovecot.js';
import { startChildMailroom } from '../helpers/child-mailroom.js';
import { ImapWire } from '../helpers/imap-wire.js';
import { api, useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';
import { SmtpWire } from '../helpers/smtp-wire.js';

const STORE_BYTES = 16 * 1024 * 1024;
/** About 1 MB each, so sixteen fill the store. */
const MESSAGE_BYTES = 1_000_000;
const SESSIONS = 12;
/**
 * What a session may add: its view of the mailbox (a few hundred bytes per
 * message it knows, no message bytes) and its buffers. 1 MiB is generous.
 */
const PER_SESSION = 1024 * 1024;
/**
 * V8 frees the Buffers of evicted messages only at its next collection,
 * which external memory triggers after growing by about 64 MiB; what SMTP
 * read and parsed adds a little more.
 */
const GC_SLACK = 80 * 1024 * 1024;

/** Sends `count` messages of MESSAGE_BYTES over one SMTP connection. */
async function sendLarge(port: number, count: number, label: string): Promise<void> {
  const wire = await SmtpWire.open(port);
  await wire.reply();
  await wire.command('EHLO big.test');
  const line = `${'x'.repeat(78)}\r\n`;
  for (let i = 0; i < count; i++) {
    const head = `From: big@example.test\r\nTo: inbox@example.test\r\nSubject: ${label} ${i}\r\n\r\n`;
    const body = line.repeat(Math.floor((MESSAGE_BYTES - head.length) / line.length));
    wire.write('MAIL FROM:<big@example.test>\r\nRCPT TO:<inbox@example.test>\r\nDATA\r\n');
    for (let r = 0; r < 3; r++) await wire.reply();
    const reply = await wire.command(`${head}${body}.`);
    if (reply.code !== 250) throw new Error(`${label} ${i}: ${reply.text}`);
  }
  await wire.command('QUIT');
}

const child = await startChildMailroom(['--max-store-bytes', '16MiB', '--max-message-size', '2MiB']);

describe('memory of IMAP sessions is bounded by the store', () => {
  it('keeps no bytes of evicted messages for sessions not yet told of their EXPUNGE', async () => {
    const empty = child.rss();
    let peak = 0;
    const sessions: ImapWire[] = [];
    for (let k = 0; k <= SESSIONS; k++) {
      await sendLarge(child.ports.smtp, k === 0 ? 16 : 24, `round ${k}`);
      peak = Math.max(peak, child.rss() - empty);
      if (k === SESSIONS) break;
      // Each session sees sixteen messages the next round evicts; none is told, none asks.
      const wire = await ImapWire.open(child.ports.imap);
      await wire.command('l', `LOGIN watcher${k} pw`);
      expect(await wire.command('s', 'SELECT INBOX')).toContain('* 16 EXISTS');
      sessions.push(wire);
    }
    expect(peak).toBeLessThan(STORE_BYTES + SESSIONS * PER_SESSION + GC_SLACK);

    // The first session's message 1 (UID 1) is long gone: UID and flags it had, NIL and empty values for the rest.
    const first = sessions[0]!;
    const fetched = await first.command('f', 'FETCH 1 (UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY[])');
    expect(fetched).toStrictEqual([
      '* 1 FETCH (UID 1 FLAGS (\\Recent) RFC822.SIZE 0 ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) BODYSTRUCTURE ("text" "plain" NIL NIL NIL "7bit" 0 0 NIL NIL NIL NIL) BODY[] NIL)',
      '* 32 EXISTS',
      '* 32 RECENT',
      'f OK [EXPUNGEISSUED] Some messages were already expunged',
    ]);
    // NOOP may carry EXPUNGE: each renumbers the rest, so the sixteen it saw are message 1 in turn.
    expect(await first.command('n', 'NOOP')).toStrictEqual([...Array<string>(16).fill('* 1 EXPUNGE'), 'n OK NOOP completed']);
    expect(await first.command('c', 'FETCH 1:* (UID)')).toHaveLength(17);
    await Promise.all(sessions.map((wire) => wire.close()));
  }, 120_000);
});

const mailroom = await useMailroom({ maxMessages: 3 });

describe('messages evicted before the session is told', () => {
  it('keep their number, UID and flags; what needs their bytes is NIL, left out, or refused, with EXPUNGEISSUED', async () => {
    const [m1, m2] = [await send(mailroom, { subject: 'm1' }), await send(mailroom, { subject: 'm2' })];
    await send(mailroom, { subject: 'm3' });
    const wire = await ImapWire.open(mailroom.ports.imap);
    await wire.command('l', 'LOGIN gone pw');
    await wire.command('s', 'SELECT INBOX');
    const uids = (await wire.command('u', 'FETCH 1:3 (UID)')).slice(0, 3).map((line) => Number(/UID (\d+)/.exec(line)![1]));
    await wire.command('f', 'STORE 1 +FLAGS.SILENT (\\Flagged \\Answered)');
    await send(mailroom, { subject: 'm4' });
    await send(mailroom, { subject: 'm5' });
    expect((await api(mailroom, `/api/messages/${m1}`)).status).toBe(404);
    expect((await api(mailroom, `/api/messages/${m2}`)).status).toBe(404);

    expect(await wire.command('a', 'FETCH 1:2 (UID FLAGS)')).toStrictEqual([
      `* 1 FETCH (UID ${uids[0]} FLAGS (\\Answered \\Flagged \\Recent))`,
      `* 2 FETCH (UID ${uids[1]} FLAGS (\\Recent))`,
      '* 5 EXISTS',
      '* 5 RECENT',
      'a OK FETCH completed',
    ]);
    expect(await wire.command('b', 'FETCH 2 (RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)] RFC822.TEXT)')).toStrictEqual([
      '* 2 FETCH (RFC822.SIZE 0 BODY[HEADER.FIELDS (SUBJECT)] NIL RFC822.TEXT NIL)',
      'b OK [EXPUNGEISSUED] Some messages were already expunged',
    ]);
    expect(await wire.command('c', 'SEARCH ALL')).toStrictEqual(['* SEARCH 1 2 3 4 5', 'c OK SEARCH completed']);
    expect(await wire.command('d', 'SEARCH FLAGGED')).toStrictEqual(['* SEARCH 1', 'd OK SEARCH completed']);
    // A gone message matches no text test, nor its negation: whether it would is unknown.
    expect(await wire.command('e', 'SEARCH SUBJECT m')).toStrictEqual(['* SEARCH 3 4 5', 'e OK [EXPUNGEISSUED] SEARCH completed']);
    expect(await wire.command('g', 'SEARCH NOT SUBJECT m')).toStrictEqual(['* SEARCH', 'g OK [EXPUNGEISSUED] SEARCH completed']);
    expect(await wire.command('h', 'SEARCH OR FLAGGED SUBJECT m4')).toStrictEqual(['* SEARCH 1 4', 'h OK [EXPUNGEISSUED] SEARCH completed']);
    // SORT keeps them, sorted as empty messages (no subject).
    expect(await wire.command('i', 'SORT (REVERSE SUBJECT) UTF-8 ALL')).toStrictEqual(['* SORT 5 4 3 1 2', 'i OK SORT completed']);
    expect(await wire.command('j', 'STORE 1:2 +FLAGS (\\Seen)')).toStrictEqual(['j NO [EXPUNGEISSUED] The messages were expunged']);
    expect(await wire.command('k', 'COPY 2:3 Trash')).toStrictEqual(['* 1 EXPUNGE', '* 1 EXPUNGE', 'k NO [EXPUNGEISSUED] Some of the requested messages no longer exist']);
    expect(await wire.command('m', 'STATUS Trash (MESSAGES)')).toStrictEqual(['* STATUS Trash (MESSAGES 0)', 'm OK STATUS completed']);
    expect((await wire.command('n', 'FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])')).filter((line) => line.startsWith('Subject:'))).toStrictEqual([
      'Subject: m3',
      'Subject: m4',
      'Subject: m5',
    ]);
    await wire.close();
  });
});

/** Three plain messages, for Dovecot's INBOX and a Mailroom folder alike (UIDs 1 to 3). */
const PLAIN = [1, 2, 3].map((i) => Buffer.from(`From: a${i}@example.test\r\nTo: b@example.test\r\nSubject: m${i}\r\nMessage-ID: <m${i}@example.test>\r\n\r\nbody ${i}\r\n`));
const GONE_ITEMS = '(UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY BODY.PEEK[] BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT]<0.3> RFC822.HEADER)';

describe('a message expunged by another session, before this one is told', () => {
  let dovecot: Dovecot | undefined;
  afterAll(() => dovecot?.stop());

  it('is fetched as Dovecot 2.3 answers it (but for INTERNALDATE, which Mailroom still has)', async () => {
    dovecot = await startDovecot(PLAIN);
    const theirs = { reader: await openImap(dovecot), expunger: await openImap(dovecot) };

    const ours = { claimer: await ImapClient.connect(mailroom.ports.imap), reader: await ImapClient.connect(mailroom.ports.imap), expunger: await ImapClient.connect(mailroom.ports.imap) };
    for (const client of Object.values(ours)) await client.command('LOGIN folders pw');
    await ours.claimer.command('CREATE Gone');
    for (const raw of PLAIN) await ours.claimer.command(Buffer.concat([Buffer.from(`APPEND Gone {${raw.length}}\r\n`), raw]));
    // Dovecot's harness shows no \Recent: a third session takes it here.
    await ours.claimer.command('SELECT Gone');
    for (const client of [ours.reader, ours.expunger]) await client.command('SELECT Gone');

    const replies = [];
    for (const side of [ours, theirs]) {
      expect((await side.expunger.command('STORE 2 +FLAGS.SILENT (\\Deleted)')).tagged).toMatch(/^\S+ OK /);
      expect((await side.expunger.command('EXPUNGE')).untagged).toStrictEqual(['* 2 EXPUNGE']);
      replies.push(await side.reader.command(`FETCH 2 ${GONE_ITEMS}`));
    }
    const [mine, dovecots] = replies as [Awaited<ReturnType<ImapClient['command']>>, Awaited<ReturnType<ImapClient['command']>>];
    expect(mine.untagged).toStrictEqual(dovecots.untagged);
    expect(mine.untagged[0]).toBe(
      '* 2 FETCH (UID 2 FLAGS (\\Deleted) RFC822.SIZE 0 ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) BODYSTRUCTURE ("text" "plain" NIL NIL NIL "7bit" 0 0 NIL NIL NIL NIL) BODY ("text" "plain" NIL NIL NIL "7bit" 0 0) BODY[] NIL BODY[HEADER.FIELDS (SUBJECT)] NIL BODY[TEXT]<0> NIL RFC822.HEADER NIL)',
    );
    const text = (reply: { tagged: string }): string => stripTimings(reply.tagged).replace(/^\S+ /, '').replace(/\.$/, '');
    expect(text(mine)).toBe(text(dovecots));
    for (const client of [...Object.values(ours), ...Object.values(theirs)]) await client.logout();
  }, 60_000);
});
