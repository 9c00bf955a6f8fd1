import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Mailroom } from 'mailroom-catcher';
import { ImapClient, imapQuote, literals } from '../helpers/dovecot/imap-client.js';
import { api, mailroomForTest } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';
import { SmtpWire } from '../helpers/smtp-wire.js';
import { tempDir } from '../helpers/temp-dir.js';

/*
 * Mailroom's IMAP server driven by clients none of us wrote, from Debian
 * packages: curl (libcurl's IMAP URLs), mbsync (isync) and mutt. Each runs
 * as a child process against the Mailroom's loopback IMAP port, with its
 * configuration and state in a temp dir and HOME pointed there, so nothing of
 * the user's is read or written. What they did is checked through the REST
 * API and through a bare IMAP session (the Dovecot helpers' ImapClient).
 */

interface Ran {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  /** Everything the tool said, for assertion messages. */
  log: string;
}

/** Runs a tool to its end, with a time limit; stdin is /dev/null unless `input` is given. */
function runTool(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: Buffer; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 15_000,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    if (options.input) child.stdin!.end(options.input);
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out);
      const stderr = Buffer.concat(err).toString('utf8');
      const log = `${command} ${args.join(' ')}: exit ${code ?? signal}\n--- stderr\n${stderr}\n--- stdout\n${stdout.toString('latin1')}`;
      resolve({ code, stdout, stderr, log });
    });
  });
}

/** The environment for a tool: its own HOME, C.UTF-8 messages. */
function toolEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8', ...extra };
}

async function raw(mailroom: Mailroom, id: string): Promise<string> {
  const response = await fetch(`${mailroom.apiUrl}/api/messages/${id}/raw`);
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer()).toString('latin1');
}

/** What IMAP serves for stored bytes: every line ending CRLF (bare LFs included). */
const crlf = (text: string): string => text.replace(/\r?\n/g, '\r\n');
/** What mbsync writes into a Maildir: every line ending LF. */
const lf = (text: string): string => text.replace(/\r\n/g, '\n');

interface Summary {
  id: string;
  subject: string;
  read: boolean;
  attachmentCount: number;
  envelope: { mailFrom: string; rcptTo: string[] };
}

async function summaries(mailroom: Mailroom): Promise<Summary[]> {
  const { body } = await api<{ messages: Summary[] }>(mailroom, '/api/messages?limit=100');
  return body.messages;
}

async function isRead(mailroom: Mailroom, id: string): Promise<boolean> {
  const { status, body } = await api<Summary>(mailroom, `/api/messages/${id}`);
  expect(status).toBe(200);
  return body.read;
}

/** Sends `data` (dot-stuffed already, without the final dot) over the SMTP wire as is. */
async function sendRaw(port: number, to: string, data: string): Promise<string> {
  const wire = await SmtpWire.open(port);
  await wire.reply();
  await wire.command('EHLO clients.test');
  await wire.command('MAIL FROM:<wire@example.test>');
  await wire.command(`RCPT TO:<${to}>`);
  await wire.command('DATA');
  const reply = await wire.command(`${data}\r\n.`);
  wire.close();
  return /queued as (\S+)/.exec(reply.text)![1]!;
}

/** A message with a bare LF and a dot-stuffed line. */
function sendBareLf(port: number, subject: string, to = 'user@example.com'): Promise<string> {
  return sendRaw(port, to, `Subject: ${subject}\r\nFrom: wire@example.test\r\nTo: ${to}\r\n\r\nfirst line\nbare LF above\r\n..dotted\r\nlast`);
}

/** Bytes that are not text: every byte value, several times over. */
const BINARY = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7 + 3) & 0xff));

async function imapSession(mailroom: Mailroom, user = 'tester'): Promise<ImapClient> {
  const client = await ImapClient.connect(mailroom.ports.imap);
  const login = await client.command(`LOGIN ${imapQuote(user)} "secret"`);
  expect(login.tagged).toMatch(/^A1 OK /);
  return client;
}

describe('IMAP with curl', () => {
  const curl = (mailroom: Mailroom, path: string, user = 'tester', extra: string[] = []): Promise<Ran> =>
    runTool('curl', ['-s', '--max-time', '10', ...extra, `imap://127.0.0.1:${mailroom.ports.imap}/${path}`, '-u', `${user}:secret`]);

  it('fetches messages by UID and by sequence number byte for byte (CRLF), which sets \\Seen; an address sees only its own mail', async () => {
    const mailroom = await mailroomForTest();
    const ids = [
      await send(mailroom, { subject: 'hello world', text: 'plain\n.starts with a dot\n' }),
      await sendBareLf(mailroom.ports.smtp, 'bare LF', 'ann@example.test'),
      await send(mailroom, {
        subject: 'Grüße aus Köln – 日本語',
        from: '"Jörg Müller" <joerg@example.test>',
        text: 'Zürich, naïve café, 𝄞\n',
        attachments: [{ filename: 'bytes.bin', content: BINARY }],
      }),
    ];
    const expected = await Promise.all(ids.map(async (id) => crlf(await raw(mailroom, id))));
    expect(expected[1]).toBe('Subject: bare LF\r\nFrom: wire@example.test\r\nTo: ann@example.test\r\n\r\nfirst line\r\nbare LF above\r\n.dotted\r\nlast\r\n');

    for (const [index, id] of ids.entries()) {
      expect(await isRead(mailroom, id)).toBe(false);
      // UIDs are the store's: 1, 2, 3 in a fresh Mailroom. curl sends UID FETCH n BODY[], not BODY.PEEK[].
      const fetched = await curl(mailroom, `INBOX;UID=${index + 1}`);
      expect(fetched.code, fetched.log).toBe(0);
      expect(fetched.stdout.toString('latin1')).toBe(expected[index]);
      expect(await isRead(mailroom, id)).toBe(true);
    }

    // MAILINDEX is a sequence number: FETCH 3 BODY[].
    const bySequence = await curl(mailroom, 'INBOX;MAILINDEX=3');
    expect(bySequence.code, bySequence.log).toBe(0);
    expect(bySequence.stdout.toString('latin1')).toBe(expected[2]);

    // SECTION=HEADER: the header and the blank line after it.
    const header = await curl(mailroom, 'INBOX;UID=3;SECTION=HEADER');
    expect(header.code, header.log).toBe(0);
    expect(header.stdout.toString('latin1')).toBe(expected[2]!.slice(0, expected[2]!.indexOf('\r\n\r\n') + 4));

    // ann@example.test sees only the mail sent to her: UID 2, her message 1; UID 1 is not in her INBOX.
    const hers = await curl(mailroom, 'INBOX;MAILINDEX=1', 'ann@example.test');
    expect(hers.code, hers.log).toBe(0);
    expect(hers.stdout.toString('latin1')).toBe(expected[1]);
    const notHers = await curl(mailroom, 'INBOX;UID=1', 'ann@example.test');
    // CURLE_REMOTE_FILE_NOT_FOUND: the UID FETCH answered OK with no FETCH response.
    expect(notHers.code, notHers.log).toBe(78);
    expect(notHers.stdout.length).toBe(0);
    const missing = await curl(mailroom, 'INBOX;UID=99');
    expect(missing.code, missing.log).toBe(78);
  });

  it('lists mailboxes, creates a folder hierarchy with a custom command, and keeps folders per user', async () => {
    const mailroom = await mailroomForTest();
    const before = await curl(mailroom, '');
    expect(before.code, before.log).toBe(0);
    expect(before.stdout.toString('latin1')).toBe(
      [
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
        '* LIST (\\HasNoChildren \\Sent) "/" Sent',
        '* LIST (\\HasNoChildren \\Trash) "/" Trash',
        '',
      ].join('\r\n'),
    );

    const created = await curl(mailroom, '', 'tester', ['-X', 'CREATE Work/Reports']);
    expect(created.code, created.log).toBe(0);
    expect(created.stdout.toString('latin1')).toBe('');
    const again = await curl(mailroom, '', 'tester', ['-X', 'CREATE Work/Reports']);
    // curl reports the tagged NO as CURLE_QUOTE_ERROR.
    expect(again.code, again.log).toBe(21);

    const after = await curl(mailroom, '');
    expect(after.stdout.toString('latin1')).toBe(
      [
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
        '* LIST (\\HasNoChildren \\Sent) "/" Sent',
        '* LIST (\\HasNoChildren \\Trash) "/" Trash',
        '* LIST (\\HasChildren) "/" Work',
        '* LIST (\\HasNoChildren) "/" Work/Reports',
        '',
      ].join('\r\n'),
    );
    // A mailbox path without ;UID is a folder list under it: LIST "Work" *.
    const under = await curl(mailroom, 'Work');
    expect(under.code, under.log).toBe(0);
    expect(under.stdout.toString('latin1')).toBe('* LIST (\\HasChildren) "/" Work\r\n* LIST (\\HasNoChildren) "/" Work/Reports\r\n');

    // Another user has the starting folders only.
    const other = await curl(mailroom, '', 'someone-else');
    expect(other.stdout.toString('latin1')).toBe(before.stdout.toString('latin1'));
  });

  it('searches with the URL SEARCH form: decoded subjects, decoded bodies, flags, and per-user numbering', async () => {
    const mailroom = await mailroomForTest();
    await send(mailroom, { subject: 'hello world', text: 'nothing to see' });
    await send(mailroom, { subject: 'other', text: 'a needle in plain text', to: 'ann@example.test' });
    await send(mailroom, { subject: 'HELLO again', text: 'still nothing' });
    // Nodemailer puts this subject in an encoded word; SEARCH must decode it.
    await send(mailroom, { subject: 'Grüße, hello from Köln', text: 'nothing', to: 'ann@example.test' });
    // The body is base64 on the wire; SEARCH BODY must decode it.
    const base64 = Buffer.from('the needle is in base64 here\n').toString('base64');
    await sendRaw(mailroom.ports.smtp, 'user@example.com', `Subject: encoded body\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64}`);

    const search = async (query: string, user = 'tester'): Promise<string> => {
      const ran = await curl(mailroom, `INBOX?${query}`, user);
      expect(ran.code, ran.log).toBe(0);
      return ran.stdout.toString('latin1');
    };
    expect(await search('SUBJECT%20hello')).toBe('* SEARCH 1 3 4\r\n');
    expect(await search('SUBJECT%20no-such-subject')).toBe('* SEARCH\r\n');
    expect(await search('BODY%20needle')).toBe('* SEARCH 2 5\r\n');
    expect(await search('TEXT%20NEEDLE%20NOT%20SUBJECT%20encoded')).toBe('* SEARCH 2\r\n');
    expect(await search('UNSEEN')).toBe('* SEARCH 1 2 3 4 5\r\n');

    // Reading message 3 through curl sets \Seen, which SEARCH SEEN then finds.
    const read = await curl(mailroom, 'INBOX;UID=3');
    expect(read.code, read.log).toBe(0);
    expect(await search('SEEN')).toBe('* SEARCH 3\r\n');
    expect(await search('UNSEEN%20SUBJECT%20hello')).toBe('* SEARCH 1 4\r\n');

    // ann@example.test sees messages 2 and 4 as her 1 and 2; UID SEARCH gives the store's UIDs.
    expect(await search('ALL', 'ann@example.test')).toBe('* SEARCH 1 2\r\n');
    expect(await search('SUBJECT%20hello', 'ann@example.test')).toBe('* SEARCH 2\r\n');
    const uids = await curl(mailroom, 'INBOX', 'ann@example.test', ['-X', 'UID SEARCH ALL']);
    expect(uids.code, uids.log).toBe(0);
    expect(uids.stdout.toString('latin1')).toBe('* SEARCH 2 4\r\n');
  });
});

describe('IMAP with mbsync (isync)', () => {
  /** mbsync's config: INBOX and every folder (Patterns *) both ways, folders created and expunges done on both sides. */
  function mbsyncrc(mailroom: Mailroom, maildir: string, authMech: 'LOGIN' | 'PLAIN', password = 'secret'): string {
    return [
      'IMAPAccount mailroom',
      'Host 127.0.0.1',
      `Port ${mailroom.ports.imap}`,
      'User tester',
      `Pass ${password}`,
      'SSLType None',
      `AuthMechs ${authMech}`,
      'Timeout 10',
      '',
      'IMAPStore far',
      'Account mailroom',
      '',
      'MaildirStore near',
      `Path ${maildir}/`,
      `Inbox ${maildir}/INBOX`,
      'SubFolders Verbatim',
      '',
      'Channel mailroom',
      'Far :far:',
      'Near :near:',
      'Patterns *',
      'Create Both',
      'Expunge Both',
      'SyncState *',
      'Sync All',
      '',
    ].join('\n');
  }

  /** Runs every channel once (-a); the config is written afresh for each run, the sync state stays in the Maildir. */
  async function mbsync(dir: string, rc: string): Promise<Ran> {
    const file = join(dir, 'mbsyncrc');
    await writeFile(file, rc);
    return runTool('mbsync', ['-V', '-c', file, '-a'], { env: toolEnv(dir), timeoutMs: 20_000 });
  }

  /** The files of one Maildir folder, from new/ and cur/, by name. */
  async function maildirFiles(folder: string): Promise<Map<string, string>> {
    const files = new Map<string, string>();
    for (const sub of ['new', 'cur']) {
      for (const name of await readdir(join(folder, sub))) files.set(`${sub}/${name}`, (await readFile(join(folder, sub, name))).toString('latin1'));
    }
    return files;
  }

  /** mbsync's own header, added to each message it propagates, at the end of the header. */
  const TUID = /^X-TUID: [A-Za-z0-9+/]{12}$/m;

  /** `message` (LF line ends) with mbsync's X-TUID line `tuid` put right before the blank line that ends the header. */
  function withTuid(message: string, tuid: string): string {
    const end = message.indexOf('\n\n');
    return `${message.slice(0, end + 1)}${tuid}\n${message.slice(end + 1)}`;
  }

  it('pulls INBOX and folders into a Maildir byte for byte, then pushes new mail, a new folder, \\Seen and a deletion back', async () => {
    const mailroom = await mailroomForTest();
    const ids = [
      await send(mailroom, { subject: 'plain', text: 'one line\n.starts with a dot\n\nlast' }),
      await send(mailroom, {
        subject: 'attachments',
        text: 'see attached',
        attachments: [
          { filename: 'bytes.bin', content: BINARY },
          { filename: 'notes.txt', content: '.dot line\r\nfrom the file\r\n' },
        ],
      }),
      await send(mailroom, { subject: 'Grüße aus Köln – 日本語', text: 'Zürich, naïve café, 𝄞 and 漢字\n', from: '"Jörg Müller" <joerg@example.test>' }),
      await sendBareLf(mailroom.ports.smtp, 'bare LF'),
      await send(mailroom, { subject: 'alternative', text: 'text part', html: '<p>html <b>part</b></p>' }),
    ];
    const expected = await Promise.all(ids.map(async (id) => crlf(await raw(mailroom, id))));

    // A folder of the user's own on the server, two levels deep, with a flagged message in it.
    const folderMessage = 'From: Ann <ann@example.test>\r\nSubject: filed\r\n\r\nkept in a folder\r\n';
    const imap = await imapSession(mailroom);
    expect((await imap.command('CREATE "Projects/2026"')).tagged).toBe('A2 OK CREATE completed');
    const appended = await imap.command(Buffer.from(`APPEND "Projects/2026" (\\Flagged) {${folderMessage.length}}\r\n${folderMessage}`, 'latin1'));
    expect(appended.tagged).toMatch(/^A3 OK \[APPENDUID \d+ 1\] /);
    await imap.logout();

    const dir = await tempDir('mbsync');
    // mbsync makes the folders, not the Maildir root.
    const maildir = join(dir, 'Mail');
    await mkdir(maildir);
    const first = await mbsync(dir, mbsyncrc(mailroom, maildir, 'LOGIN'));
    expect(first.code, first.log).toBe(0);

    // Every server mailbox became a Maildir folder (SubFolders Verbatim: Projects/2026 is a directory inside Projects).
    for (const folder of ['INBOX', 'Drafts', 'Sent', 'Trash', 'Projects', 'Projects/2026']) {
      expect(await readdir(join(maildir, folder)), folder).toEqual(expect.arrayContaining(['cur', 'new', 'tmp']));
    }
    // mbsync stores LF line ends in a Maildir and adds its X-TUID header; otherwise the bytes are IMAP's.
    const inbox = await maildirFiles(join(maildir, 'INBOX'));
    expect(inbox.size).toBe(5);
    const byUid = new Map<number, { name: string; text: string }>();
    for (const [name, text] of inbox) {
      // Unseen mail goes to new/, named with its UID and no flags.
      const match = /^new\/(.+),U=(\d+):2,$/.exec(name);
      expect(match, name).not.toBeNull();
      byUid.set(Number(match![2]), { name, text });
    }
    expect([...byUid.keys()].sort()).toStrictEqual([1, 2, 3, 4, 5]);
    for (const [index, message] of expected.entries()) {
      const file = byUid.get(index + 1)!.text;
      const tuid = TUID.exec(file)?.[0] ?? 'X-TUID missing';
      expect(file).toBe(withTuid(lf(message), tuid));
    }
    const filed = await maildirFiles(join(maildir, 'Projects/2026'));
    expect([...filed.keys()]).toHaveLength(1);
    const [filedName, filedText] = [...filed.entries()][0]!;
    // Not \Seen, so in new/ however flagged.
    expect(filedName).toMatch(/^new\/.+,U=1:2,F$/);
    expect(filedText).toBe(withTuid(lf(folderMessage), TUID.exec(filedText)?.[0] ?? 'X-TUID missing'));
    // Fetching with BODY.PEEK[] left the mail unread.
    for (const id of ids) expect(await isRead(mailroom, id)).toBe(false);

    // And back: a new message in INBOX, a new folder with a message read locally, one message seen, one deleted.
    const local = 'From: Local <local@example.test>\nTo: user@example.com\nSubject: written in the Maildir\nMessage-ID: <local-1@mbsync.test>\n\nfrom the near side\n';
    await writeFile(join(maildir, 'INBOX/new/1700000000.local1.mailroom'), local);
    const archived = 'From: Local <local@example.test>\nSubject: archived\n\nin a folder made locally, Grüße\n';
    await mkdir(join(maildir, 'Archive/cur'), { recursive: true });
    await mkdir(join(maildir, 'Archive/new'));
    await mkdir(join(maildir, 'Archive/tmp'));
    await writeFile(join(maildir, 'Archive/cur/1700000000.local2.mailroom:2,S'), archived);
    const seen = byUid.get(2)!.name;
    await rename(join(maildir, 'INBOX', seen), join(maildir, 'INBOX', `${seen.replace(/^new\//, 'cur/')}S`));
    await rm(join(maildir, 'INBOX', byUid.get(5)!.name));

    const second = await mbsync(dir, mbsyncrc(mailroom, maildir, 'LOGIN'));
    expect(second.code, second.log).toBe(0);

    const messages = await summaries(mailroom);
    const pushed = messages.find((m) => m.subject === 'written in the Maildir');
    expect(pushed, JSON.stringify(messages)).toBeDefined();
    expect(messages.map((m) => m.id).sort()).toStrictEqual([...ids.slice(0, 4), pushed!.id].sort());
    // APPEND takes what mbsync sends: the local file in CRLF, with its X-TUID.
    const pushedRaw = await raw(mailroom, pushed!.id);
    expect(pushedRaw).toBe(crlf(withTuid(local, TUID.exec(pushedRaw)?.[0] ?? 'X-TUID missing')));
    expect((await api(mailroom, `/api/messages/${ids[4]}`)).status).toBe(404);
    expect(Object.fromEntries(messages.map((m) => [m.id, m.read]))).toStrictEqual({
      [ids[0]!]: false,
      [ids[1]!]: true,
      [ids[2]!]: false,
      [ids[3]!]: false,
      [pushed!.id]: false,
    });

    // The local folder exists on the server now, holding the message with its flag.
    const check = await imapSession(mailroom);
    const list = await check.command('LIST "" "*"');
    expect(list.untagged).toStrictEqual([
      '* LIST (\\HasNoChildren) "/" INBOX',
      '* LIST (\\HasNoChildren) "/" Archive',
      '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
      '* LIST (\\HasChildren) "/" Projects',
      '* LIST (\\HasNoChildren) "/" Projects/2026',
      '* LIST (\\HasNoChildren \\Sent) "/" Sent',
      '* LIST (\\HasNoChildren \\Trash) "/" Trash',
    ]);
    expect((await check.command('EXAMINE Archive')).untagged).toContain('* 1 EXISTS');
    const fetched = await check.command('UID FETCH 1:* (FLAGS BODY.PEEK[])');
    expect(fetched.untagged).toHaveLength(1);
    expect(fetched.untagged[0]).toMatch(/^\* 1 FETCH \(UID 1 FLAGS \(\\Seen\) BODY\[\] \{\d+\}\r\n/);
    const archivedRaw = literals(fetched.untagged[0]!)[0]!;
    expect(archivedRaw).toBe(crlf(withTuid(Buffer.from(archived, 'utf8').toString('latin1'), TUID.exec(archivedRaw)?.[0] ?? 'X-TUID missing')));
    await check.logout();

    // A third run, over AUTHENTICATE PLAIN this time, finds both sides in step: nothing is copied twice.
    const third = await mbsync(dir, mbsyncrc(mailroom, maildir, 'PLAIN'));
    expect(third.code, third.log).toBe(0);
    expect((await summaries(mailroom)).map((m) => m.id).sort()).toStrictEqual(messages.map((m) => m.id).sort());
    const near = await maildirFiles(join(maildir, 'INBOX'));
    expect(near.size).toBe(5);
    // Every near file carries the UID the far side gave it.
    expect([...near.keys()].map((name) => Number(/,U=(\d+)/.exec(name)?.[1])).sort((a, b) => a - b)).toStrictEqual([1, 2, 3, 4, 6]);
    expect((await maildirFiles(join(maildir, 'Archive'))).size).toBe(1);
  });

  it('fails cleanly on a wrong password when --imap-auth is set', async () => {
    const mailroom = await mailroomForTest({ imapAuth: { tester: 'secret' } });
    const dir = await tempDir('mbsync-auth');
    await mkdir(join(dir, 'Mail'));
    const ran = await mbsync(dir, mbsyncrc(mailroom, join(dir, 'Mail'), 'LOGIN', 'wrong'));
    expect(ran.code, ran.log).toBe(1);
    expect(ran.stderr).toContain("IMAP command 'LOGIN <user> <pass>' returned an error: NO [AUTHENTICATIONFAILED] Invalid user name or password");
    const ok = await mbsync(dir, mbsyncrc(mailroom, join(dir, 'Mail'), 'PLAIN', 'secret'));
    expect(ok.code, ok.log).toBe(0);
  });
});

describe('IMAP with mutt', () => {
  /** A muttrc that asks nothing and waits for nothing: no prompts, no sleeps, no caches, no IDLE. */
  function muttrc(mailroom: Mailroom, lines: string[]): string {
    return [
      'set imap_user=tester',
      'set imap_pass=secret',
      `set folder=imap://127.0.0.1:${mailroom.ports.imap}/`,
      'set spoolfile=+INBOX',
      'set ssl_starttls=no',
      'set ssl_force_tls=no',
      'set imap_passive=yes',
      'set imap_idle=no',
      'set mail_check=0',
      'set timeout=0',
      'set sleep_time=0',
      'set wait_key=no',
      'set beep=no',
      'set confirmcreate=no',
      'set confirmappend=no',
      'set quit=yes',
      'set move=no',
      'set delete=yes',
      'set mark_old=no',
      'set header_cache=""',
      'set message_cachedir=""',
      'set charset=utf-8',
      'set send_charset=utf-8',
      ...lines,
      '',
    ].join('\n');
  }

  /** mutt's debug log: every IMAP line it sent and received. */
  async function debugLog(home: string): Promise<string> {
    return (await readFile(join(home, '.muttdebug0'))).toString('utf8');
  }

  it('drives the index through a pseudo-terminal: server-side search, copy to a new folder, flag, read and delete', async () => {
    const mailroom = await mailroomForTest();
    const ids = [
      await send(mailroom, { subject: 'alpha', text: 'a needle in alpha' }),
      await send(mailroom, { subject: 'beta', text: 'the needle again', attachments: [{ filename: 'notes.txt', content: 'attached\n' }] }),
      await send(mailroom, { subject: 'gamma', text: 'nothing here' }),
      await send(mailroom, { subject: 'delta', text: 'nothing either' }),
    ];
    const expected = await Promise.all(ids.map(async (id) => crlf(await raw(mailroom, id))));

    const dir = await tempDir('mutt');
    // =b is mutt's server-side body search (UID SEARCH BODY); the rest runs in the index and pager as a user would type it.
    const keys = [
      '<tag-pattern>=b needle<enter>',
      '<tag-prefix><copy-message>=Saved<enter>',
      '<untag-pattern>~A<enter>',
      '<search>~s gamma<enter><flag-message>',
      '<search>~s alpha<enter><display-message><exit>',
      '<search>~s delta<enter><delete-message>',
      '<quit>',
    ].join('');
    await writeFile(join(dir, 'muttrc'), muttrc(mailroom, ['set record=""', `push "${keys}"`]));
    // mutt's index needs a terminal: script(1) gives it a pseudo-terminal, and its screen output is only kept for messages.
    const ran = await runTool('script', ['-qec', `mutt -n -F ${join(dir, 'muttrc')} -d 2 -f imap://127.0.0.1:${mailroom.ports.imap}/INBOX`, '/dev/null'], {
      env: toolEnv(dir, { TERM: 'vt100', LINES: '24', COLUMNS: '80' }),
      cwd: dir,
    });
    const log = await debugLog(dir);
    expect(ran.code, `${ran.log}\n--- mutt debug log\n${log}`).toBe(0);
    expect(log).toMatch(/> a\d{4} UID SEARCH BODY "needle"\r?\n/);
    expect(log).toMatch(/< \* SEARCH 1 2\r?\n/);
    expect(log).toMatch(/> a\d{4} CREATE "Saved"\r?\n/);

    // delta is expunged; alpha, displayed, is read; nothing else is.
    const after = await summaries(mailroom);
    expect(Object.fromEntries(after.map((m) => [m.subject, m.read]))).toStrictEqual({ alpha: true, beta: false, gamma: false });
    expect((await api(mailroom, `/api/messages/${ids[3]}`)).status).toBe(404);

    const imap = await imapSession(mailroom);
    expect((await imap.command('LIST "" Saved')).untagged).toStrictEqual(['* LIST (\\HasNoChildren) "/" Saved']);
    const inbox = await imap.command('EXAMINE INBOX');
    expect(inbox.untagged).toContain('* 3 EXISTS');
    expect((await imap.command('UID FETCH 1:* FLAGS')).untagged).toStrictEqual([
      '* 1 FETCH (UID 1 FLAGS (\\Seen))',
      '* 2 FETCH (UID 2 FLAGS ())',
      '* 3 FETCH (UID 3 FLAGS (\\Flagged))',
    ]);
    // The copies in Saved are the same bytes, made before alpha was read; this session is the first to select Saved, so they are \Recent to it.
    expect((await imap.command('SELECT Saved')).untagged).toContain('* 2 EXISTS');
    const saved = await imap.command('UID FETCH 1:* (FLAGS BODY.PEEK[])');
    expect(saved.untagged).toStrictEqual([
      `* 1 FETCH (UID 1 FLAGS (\\Recent) BODY[] {${expected[0]!.length}}\r\n${expected[0]})`,
      `* 2 FETCH (UID 2 FLAGS (\\Recent) BODY[] {${expected[1]!.length}}\r\n${expected[1]})`,
    ]);
    await imap.logout();
  });

  it('sends with an attachment over SMTP in batch mode and files the copy in the IMAP Sent folder (APPEND)', async () => {
    const mailroom = await mailroomForTest();
    const dir = await tempDir('mutt-send');
    await writeFile(join(dir, 'data.bin'), BINARY);
    await writeFile(
      join(dir, 'muttrc'),
      muttrc(mailroom, [
        `set smtp_url="smtp://127.0.0.1:${mailroom.ports.smtp}/"`,
        'set from="Mutt Tester <mutt@example.test>"',
        'set use_from=yes',
        'set hostname=mutt.test',
        'set record="=Sent"',
        'set copy=yes',
      ]),
    );
    const body = 'Hello from mutt,\nwith an attachment.\n';
    const ran = await runTool('mutt', ['-n', '-F', join(dir, 'muttrc'), '-d', '2', '-s', 'Grüße von mutt', '-a', join(dir, 'data.bin'), '--', 'rcpt@example.test'], {
      env: toolEnv(dir),
      cwd: dir,
      input: Buffer.from(body),
    });
    const log = await debugLog(dir);
    expect(ran.code, `${ran.log}\n--- mutt debug log\n${log}`).toBe(0);

    const [message, ...rest] = await summaries(mailroom);
    expect(rest).toStrictEqual([]);
    expect(message).toMatchObject({
      subject: 'Grüße von mutt',
      attachmentCount: 1,
      envelope: { mailFrom: 'mutt@example.test', rcptTo: ['rcpt@example.test'] },
    });
    const detail = await api<{ text: string; attachments: { partId: string; filename: string }[] }>(mailroom, `/api/messages/${message!.id}`);
    expect(detail.body.text).toBe(body);
    expect(detail.body.attachments.map((a) => a.filename)).toStrictEqual(['data.bin']);
    const attachment = await fetch(`${mailroom.apiUrl}/api/messages/${message!.id}/attachments/${detail.body.attachments[0]!.partId}`);
    expect(Buffer.from(await attachment.arrayBuffer()).equals(BINARY)).toBe(true);

    // mutt wrote the same message to Sent over IMAP, marked \Seen.
    expect(log).toMatch(/> a\d{4} APPEND "Sent" \(\\Seen\) "\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}" \{\d+\}\r?\n/);
    const imap = await imapSession(mailroom);
    expect((await imap.command('SELECT Sent')).untagged).toContain('* 1 EXISTS');
    const sent = await imap.command('UID FETCH 1 (FLAGS BODY.PEEK[])');
    expect(sent.untagged).toHaveLength(1);
    expect(sent.untagged[0]).toMatch(/^\* 1 FETCH \(UID 1 FLAGS \(\\Seen \\Recent\) BODY\[\] \{\d+\}\r\n[^]*\)$/);
    // mutt renders the Fcc copy again after sending, so its Date may be a second later; every other byte is the same.
    const filed = literals(sent.untagged[0]!)[0]!;
    const captured = crlf(await raw(mailroom, message!.id));
    const date = /^Date: [^\r\n]+\r\n/;
    expect(filed).toMatch(date);
    expect(filed.replace(date, '')).toBe(captured.replace(date, ''));
    await imap.logout();
  });
});
