import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { Mailroom } from 'mailroom-catcher';
import { api, mailroomForTest } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';
import { SmtpWire } from '../helpers/smtp-wire.js';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

/** A message with a bare LF, lines that start with dots and a line that is a lone dot, sent over the wire as is. */
async function sendAwkward(port: number): Promise<string> {
  const wire = await SmtpWire.open(port);
  await wire.reply();
  await wire.command('EHLO fetchmail.test');
  await wire.command('MAIL FROM:<a@example.test>');
  await wire.command('RCPT TO:<ann@example.test>');
  await wire.command('DATA');
  const reply = await wire.command('Subject: dots\r\nTo: ann@example.test\r\n\r\n..leading dot\nbare LF line\r\n...two dots\r\n..\r\n.');
  wire.close();
  return /queued as (\S+)/.exec(reply.text)![1]!;
}

/** Five messages nodemailer builds differently: plain, alternative, attachments, UTF-8, long lines. */
async function sendVaried(mailroom: Mailroom): Promise<string[]> {
  return [
    await send(mailroom, { subject: 'plain', text: 'one line\n.starts with a dot\n\nlast' }),
    await send(mailroom, { subject: 'alternative', text: 'text part', html: '<p>html <b>part</b></p>', cc: 'Ann <ann@example.test>' }),
    await send(mailroom, {
      subject: 'attachments',
      text: 'see attached',
      attachments: [
        { filename: 'bytes.bin', content: Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff)) },
        { filename: 'notes.txt', content: '.dot line\r\nfrom the file\r\n' },
      ],
    }),
    await send(mailroom, { subject: 'Grüße aus Köln – 日本語', text: 'Zürich, naïve café, 𝄞 and 漢字\n', from: '"Jörg Müller" <joerg@example.test>' }),
    await send(mailroom, { subject: 'long lines', text: `${'word '.repeat(400)}\n${'x'.repeat(1200)}\n`, bcc: 'hidden@example.test' }),
  ];
}

async function raw(mailroom: Mailroom, id: string): Promise<string> {
  const response = await fetch(`${mailroom.apiUrl}/api/messages/${id}/raw`);
  return Buffer.from(await response.arrayBuffer()).toString('latin1');
}

const crlf = (text: string): string => text.replace(/\r?\n/g, '\r\n');

/**
 * Runs fetchmail once, non-interactively, against the Mailroom's POP3 port.
 * No ~/.fetchmailrc, .fetchids or pid file of the user's is touched: all of
 * them live in a temp dir (FETCHMAILHOME), and the rc file (mode 0600, as
 * fetchmail demands) carries the password so nothing prompts. Each message
 * goes to an MDA that writes it, as fetchmail hands it over, to a file of its
 * own: no mbox `From ` line, and with `invisible` no Received header,
 * `no stripcr` keeps the CRLFs, `no rewrite` leaves the addresses alone.
 * Returns the messages in the order fetchmail delivered them.
 */
async function fetchmail(pop3Port: number, keep: boolean): Promise<{ messages: string[]; log: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-fetchmail-'));
  dirs.push(dir);
  const out = join(dir, 'out');
  await run('mkdir', [out]);
  const mda = join(dir, 'deliver.sh');
  // fetchmail delivers one message at a time, so counting the files names them in order.
  await writeFile(mda, `#!/bin/sh\nn=$(ls '${out}' | wc -l)\nexec cat > '${out}'/$(printf %04d "$n").eml\n`);
  await chmod(mda, 0o755);
  const rc = join(dir, 'fetchmailrc');
  await writeFile(
    rc,
    [
      'set no syslog',
      'set invisible',
      'set no softbounce',
      `poll 127.0.0.1 protocol POP3 port ${pop3Port} auth password timeout 20`,
      '  user "tester" password "secret"',
      `  sslproto "" ${keep ? 'keep' : 'no keep'} fetchall no rewrite no stripcr no forcecr no dropstatus no dropdelivered no mimedecode`,
      `  mda "${mda}"`,
      '',
    ].join('\n'),
  );
  await chmod(rc, 0o600);
  const { stdout, stderr } = await run('fetchmail', ['--fetchmailrc', rc, '--nodetach', '--verbose', '--nosoftbounce'], {
    env: { ...process.env, FETCHMAILHOME: dir, LC_ALL: 'C' },
    timeout: 60_000,
  });
  const files = (await readdir(out)).sort();
  const messages = await Promise.all(files.map(async (file) => (await readFile(join(out, file))).toString('latin1')));
  return { messages, log: stdout + stderr };
}

describe('POP3 with Debian fetchmail', () => {
  it('fetches every message byte for byte; --keep deletes nothing, a fetch without it deletes all at QUIT', async () => {
    const mailroom = await mailroomForTest();
    const ids = [...(await sendVaried(mailroom)), await sendAwkward(mailroom.ports.smtp)];
    const expected = await Promise.all(ids.map(async (id) => crlf(await raw(mailroom, id))));
    // The dotted lines must survive as sent, once unstuffed by SMTP and restuffed and unstuffed by POP3.
    expect(expected[5]).toMatch(/\r\n\r\n\.leading dot\r\nbare LF line\r\n\.\.two dots\r\n\.\r\n$/);

    const kept = await fetchmail(mailroom.ports.pop3, true);
    expect(kept.log).toMatch(/6 messages for tester at 127\.0\.0\.1/);
    expect(kept.log).toContain('POP3< +OK Mailroom POP3 signing off (0 messages deleted)');
    expect(kept.messages.map(crlf)).toStrictEqual(expected);
    const left = await api<{ messages: { id: string }[] }>(mailroom, '/api/messages');
    expect(left.body.messages.map((m) => m.id).sort()).toStrictEqual([...ids].sort());

    const taken = await fetchmail(mailroom.ports.pop3, false);
    expect(taken.messages.map(crlf)).toStrictEqual(expected);
    expect(taken.log.match(/POP3> DELE \d+/g)).toStrictEqual(ids.map((_, i) => `POP3> DELE ${i + 1}`));
    expect(taken.log).toContain('POP3< +OK Mailroom POP3 signing off (6 messages deleted)');
    expect((await api<{ messages: unknown[] }>(mailroom, '/api/messages')).body.messages).toStrictEqual([]);
    for (const id of ids) expect((await api(mailroom, `/api/messages/${id}`)).status).toBe(404);
  });
});
