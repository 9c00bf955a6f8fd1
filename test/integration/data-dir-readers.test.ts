import { spawn } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import type { Mailroom } from 'mailroom-catcher';
import { describe, expect, it } from 'vitest';
import { imapExchange, literals, startDovecot } from '../helpers/dovecot/dovecot.js';
import { ImapClient, imapQuote } from '../helpers/dovecot/imap-client.js';
import { api, mailroomForTest } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';
import { SmtpWire } from '../helpers/smtp-wire.js';
import { tempDir } from '../helpers/temp-dir.js';

/*
 * Mailroom's data directory (--data-dir) read by mail programs none of us
 * wrote: Debian's Dovecot 2.3 serving it over IMAP, and mutt opening it as a
 * local Maildir. Each test fills a fresh directory through Mailroom (SMTP in,
 * flags set over IMAP and the API), closes Mailroom, and lets the other
 * program read what is on disk.
 */

interface Sent {
  id: string;
  messageId: string;
  subject: string;
  /** The flags it is left with, as IMAP names them (ASCII order). */
  flags: string[];
  /** Mailroom's raw bytes (GET /api/messages/:id/raw), latin1 so one char is one byte. */
  raw: string;
}

interface Summary {
  id: string;
  subject: string;
  read: boolean;
}

/** A message sent as bytes over the SMTP wire: a folded header, 8-bit UTF-8 text and lines that need dot-stuffing. */
async function sendOverWire(mailroom: Mailroom, messageId: string): Promise<string> {
  const wire = await SmtpWire.open(mailroom.ports.smtp);
  await wire.reply();
  await wire.command('EHLO readers.test');
  await wire.command('MAIL FROM:<wire@readers.test> BODY=8BITMIME');
  await wire.command('RCPT TO:<user@example.com>');
  await wire.command('DATA');
  const message = [
    'From: Wire <wire@readers.test>',
    'To: user@example.com',
    'Subject: Dotted lines',
    `Message-ID: ${messageId}`,
    'X-Long: a header folded',
    '\tover two lines',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    'Grüße, 8-bit and unencoded.',
    '..a line that began with a dot',
    '..',
    'last line',
  ].join('\r\n');
  wire.write(Buffer.from(`${message}\r\n.\r\n`, 'utf8'));
  const reply = await wire.reply();
  wire.close();
  return /queued as (\S+)/.exec(reply.text)![1]!;
}

async function rawOf(mailroom: Mailroom, id: string): Promise<string> {
  const response = await fetch(`${mailroom.apiUrl}/api/messages/${id}/raw`);
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer()).toString('latin1');
}

async function summaries(mailroom: Mailroom): Promise<Summary[]> {
  const { status, body } = await api<{ messages: Summary[] }>(mailroom, '/api/messages?limit=100');
  expect(status).toBe(200);
  return body.messages;
}

/** Each message's flags (sorted) and BODY[], by Message-ID, from `FETCH 1:* (FLAGS BODY.PEEK[])` responses. */
function byMessageId(responses: readonly string[]): Map<string, { flags: string[]; body: string }> {
  const out = new Map<string, { flags: string[]; body: string }>();
  for (const response of responses) {
    const match = /^\* \d+ FETCH \(FLAGS \(([^)]*)\) BODY\[\] \{\d+\}\r\n/.exec(response);
    if (!match) throw new Error(`not a FETCH (FLAGS BODY[]) response:\n${response}`);
    const body = literals(response)[0]!;
    const messageId = /^Message-ID: *(<[^>\r\n]+>)\r?$/im.exec(body)?.[1];
    if (!messageId) throw new Error(`no Message-ID in:\n${body}`);
    if (out.has(messageId)) throw new Error(`two messages with Message-ID ${messageId}`);
    out.set(messageId, { flags: match[1]!.split(' ').filter((flag) => flag !== '').sort(), body });
  }
  return out;
}

/** INBOX over Mailroom's own IMAP, read-only: each message's flags and bytes by Message-ID. */
async function mailroomInbox(room: Mailroom): Promise<Record<string, { flags: string[]; body: string }>> {
  const client = await ImapClient.connect(room.ports.imap);
  try {
    expect((await client.command(`LOGIN ${imapQuote('tester')} ${imapQuote('secret')}`)).tagged).toMatch(/^A1 OK/);
    expect((await client.command('EXAMINE INBOX')).tagged).toMatch(/^A2 OK/);
    const fetched = await client.command('FETCH 1:* (FLAGS BODY.PEEK[])');
    expect(fetched.tagged).toMatch(/^A3 OK/);
    return Object.fromEntries(byMessageId(fetched.untagged));
  } finally {
    await client.logout();
  }
}

/**
 * Six messages of different kinds captured into `dataDir` and left with
 * different flags (one per Maildir letter, \Seen both over IMAP and the API,
 * two with none), then Mailroom closed. Checks that Mailroom itself reports
 * those flags over IMAP before it closes.
 */
async function capture(dataDir: string): Promise<Sent[]> {
  const mailroom = await mailroomForTest({ dataDir });
  const made: { id: string; messageId: string; subject: string; flags: string[] }[] = [];
  const viaNodemailer = async (subject: string, flags: string[], extra: Parameters<typeof send>[1] = {}): Promise<void> => {
    const messageId = `<${made.length + 1}@readers.test>`;
    made.push({ id: await send(mailroom, { subject, messageId, ...extra }), messageId, subject, flags });
  };
  await viaNodemailer('Plain hello', [], { text: 'Just text.\n' });
  await viaNodemailer('Grüße aus Köln', ['\\Answered', '\\Seen'], { text: 'Ünïcödé text, quoted-printable.\n' });
  await viaNodemailer('Report with attachment', ['\\Flagged', '\\Seen'], {
    text: 'See the attachment.\n',
    html: '<p>See the <b>attachment</b>.</p>',
    attachments: [{ filename: 'data.bin', content: Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7 + 3) & 0xff)) }],
  });
  made.push({ id: await sendOverWire(mailroom, '<4@readers.test>'), messageId: '<4@readers.test>', subject: 'Dotted lines', flags: [] });
  await viaNodemailer('Deleted but not expunged', ['\\Deleted']);
  await viaNodemailer('Draft reply', ['\\Draft', '\\Flagged']);

  // Flags over IMAP with ImapFlow (by UID, in arrival order 1..6); \Seen of the second over the API.
  const imap = new ImapFlow({ host: mailroom.host, port: mailroom.ports.imap, secure: false, auth: { user: 'tester', pass: 'secret' }, logger: false });
  await imap.connect();
  const lock = await imap.getMailboxLock('INBOX');
  try {
    for (const [i, message] of made.entries()) {
      const flags = message.flags.filter((flag) => !(i === 1 && flag === '\\Seen'));
      if (flags.length > 0) expect(await imap.messageFlagsAdd(String(i + 1), flags, { uid: true })).toBe(true);
    }
  } finally {
    lock.release();
  }
  await imap.logout();
  const patched = await api<Summary>(mailroom, `/api/messages/${made[1]!.id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ read: true }),
  });
  expect(patched.status).toBe(200);
  expect(patched.body.read).toBe(true);

  const sent: Sent[] = [];
  for (const message of made) sent.push({ ...message, raw: await rawOf(mailroom, message.id) });

  // What Mailroom's own IMAP says before it closes: the flags as set (ImapFlow's session took \Recent), the bytes as captured.
  expect(await mailroomInbox(mailroom)).toStrictEqual(Object.fromEntries(sent.map((m) => [m.messageId, { flags: m.flags, body: m.raw }])));
  await mailroom.close();
  return sent;
}

const LETTERS: Record<string, string> = { '\\Draft': 'D', '\\Flagged': 'F', '\\Answered': 'R', '\\Seen': 'S', '\\Deleted': 'T' };

/** A message's Maildir info letters, in ASCII order. */
const lettersOf = (message: Sent): string => message.flags.map((flag) => LETTERS[flag]).sort().join('');

const byId = <T extends { id: string }>(a: T, b: T): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Checks the directory as Mailroom leaves it: each message in new/ without
 * flags, in cur/ with the `:2,` letters otherwise, named `SECS.ID.mailroom,S=SIZE`,
 * holding the received bytes, mode 0600; nothing in tmp/. Returns each message's base name, by id.
 */
async function expectOnDisk(dataDir: string, sent: readonly Sent[]): Promise<Map<string, string>> {
  const found: { id: string; dir: string; info: string | null }[] = [];
  const bases = new Map<string, string>();
  for (const dir of ['new', 'cur']) {
    for (const name of await readdir(join(dataDir, dir))) {
      const match = /^(\d+\.([A-Za-z0-9_-]+)\.mailroom,S=(\d+))(?::2,([A-Z]*))?$/.exec(name);
      if (!match) throw new Error(`unexpected file ${dir}/${name}`);
      const [, base, id, size, info] = match as unknown as [string, string, string, string, string | undefined];
      const message = sent.find((m) => m.id === id);
      if (!message) throw new Error(`a file for no message Mailroom has: ${dir}/${name}`);
      const path = join(dataDir, dir, name);
      expect(Number(size)).toBe(Buffer.byteLength(message.raw, 'latin1'));
      expect((await readFile(path)).toString('latin1')).toBe(message.raw);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      found.push({ id, dir, info: info ?? null });
      bases.set(id, base);
    }
  }
  const expected = sent.map((message) => {
    const letters = lettersOf(message);
    return { id: message.id, dir: letters === '' ? 'new' : 'cur', info: letters === '' ? null : letters };
  });
  expect(found.sort(byId)).toStrictEqual(expected.sort(byId));
  expect(await readdir(join(dataDir, 'tmp'))).toStrictEqual([]);
  return bases;
}

interface Ran {
  code: number | null;
  log: string;
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
    let output = '';
    child.stdout.setEncoding('latin1').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('latin1').on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, log: `${command} ${args.join(' ')}: exit ${code ?? signal}\n${output}` }));
  });
}

describe('the data directory read by other mail programs', () => {
  it('is served by Dovecot: every message, byte for byte, with the flags Mailroom had; then Mailroom opens it again as it was', async () => {
    const dataDir = await tempDir('data');
    const sent = await capture(dataDir);
    const bases = await expectOnDisk(dataDir, sent);

    const dovecot = await startDovecot([], { maildir: dataDir });
    let uidValidity: number;
    try {
      expect(dovecot.count).toBe(sent.length);
      uidValidity = dovecot.uidValidity;
      // SELECT, as a client would; LOGOUT, not CLOSE, so \Deleted is not expunged. Dovecot's index is new, so this
      // first read-write session gets every message as \Recent (the helper's start-up check only EXAMINEs).
      const [fetched] = await imapExchange(dovecot, ['FETCH 1:* (FLAGS BODY.PEEK[])']);
      expect(fetched!.tagged, dovecot.log()).toMatch(/^A3 OK/);
      expect(Object.fromEntries(byMessageId(fetched!.untagged))).toStrictEqual(
        Object.fromEntries(sent.map((m) => [m.messageId, { flags: [...m.flags, '\\Recent'].sort(), body: m.raw }])),
      );
    } finally {
      await dovecot.stop();
    }
    // stop() gave the tree back (as root it was lent to Dovecot's mail user), Dovecot's own files included.
    const owner = (await stat(dataDir)).uid;
    const owners = await Promise.all((await readdir(dataDir, { recursive: true })).map(async (name) => (await stat(join(dataDir, name))).uid));
    expect(owners.filter((uid) => uid !== owner)).toStrictEqual([]);
    expect(owner).toBe(process.getuid!());
    // Dovecot took the new/ messages into cur/ (with an empty info) and put its index and uidlist beside Mailroom's journal.
    expect({ top: (await readdir(dataDir)).sort(), new: await readdir(join(dataDir, 'new')), cur: (await readdir(join(dataDir, 'cur'))).sort() }).toStrictEqual({
      top: [
        'cur',
        'dovecot-uidlist',
        'dovecot-uidvalidity',
        `dovecot-uidvalidity.${uidValidity.toString(16)}`,
        'dovecot.index.cache',
        'dovecot.index.log',
        'dovecot.list.index.log',
        'mailroom-journal.jsonl',
        'new',
        'tmp',
      ],
      new: [],
      cur: sent.map((m) => `${bases.get(m.id)}:2,${lettersOf(m)}`).sort(),
    });

    // Mailroom again on what Dovecot left: the same ids, subjects, read state, bytes and flags.
    const again = await mailroomForTest({ dataDir });
    expect((await summaries(again)).map(({ id, subject, read }) => ({ id, subject, read })).sort(byId)).toStrictEqual(
      sent.map(({ id, subject, flags }) => ({ id, subject, read: flags.includes('\\Seen') })).sort(byId),
    );
    for (const message of sent) expect(await rawOf(again, message.id)).toBe(message.raw);
    // \Recent is not kept across a restart, so to the first session after it every message is \Recent again (EXAMINE sees it without taking it).
    expect(await mailroomInbox(again)).toStrictEqual(Object.fromEntries(sent.map((m) => [m.messageId, { flags: [...m.flags, '\\Recent'].sort(), body: m.raw }])));
  });

  it('is opened by mutt as a Maildir: every subject with its flags in the index', async () => {
    const dataDir = await tempDir('data');
    const sent = await capture(dataDir);
    await expectOnDisk(dataDir, sent);
    const home = await tempDir('mutt');
    // A format string ending in "|" is piped through its command (each word single-quoted by mutt), and
    // mutt shows what it prints: so every index line mutt draws is also written to index.txt, tab-separated.
    await writeFile(join(home, 'line.sh'), `printf '%s\\t%s\\n' "$1" "$2" >> '${home}/index.txt'\nprintf '%s %s' "$1" "$2"\n`);
    await writeFile(
      join(home, 'muttrc'),
      [
        `set folder="${home}"`,
        `set spoolfile="${dataDir}"`,
        `set index_format="sh ${home}/line.sh %Z %s|"`,
        'set sort=subject',
        'set mark_old=no',
        'set charset=utf-8',
        'set wait_key=no',
        'set sleep_time=0',
        'set mail_check=0',
        'set timeout=0',
        'set beep=no',
        'push "<exit>"',
        '',
      ].join('\n'),
    );
    // mutt's index needs a terminal: script(1) gives it a pseudo-terminal. -R: read-only, so mutt writes nothing.
    const ran = await run('script', ['-qec', `mutt -n -F ${join(home, 'muttrc')} -R -f ${dataDir}`, '/dev/null'], {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      LC_ALL: 'C.UTF-8',
      LANG: 'C.UTF-8',
      TERM: 'vt100',
      LINES: '24',
      COLUMNS: '100',
    });
    expect(ran.code, ran.log).toBe(0);
    // Each line as often as mutt drew it; every one the same each time.
    const lines = [...new Set((await readFile(join(home, 'index.txt'), 'utf8')).split('\n').filter((line) => line !== ''))];
    // %Z is three columns: N new (in new/), O old (unread, in cur/), r replied, blank read; D deleted; ! flagged.
    // mutt has no mark for \Draft, and sorts by subject.
    expect(lines).toStrictEqual([
      'OD \tDeleted but not expunged',
      'N  \tDotted lines',
      'O !\tDraft reply',
      'r  \tGrüße aus Köln',
      'N  \tPlain hello',
      '  !\tReport with attachment',
    ]);
    // Read-only: the directory is as Mailroom left it.
    await expectOnDisk(dataDir, sent);
  });
});
