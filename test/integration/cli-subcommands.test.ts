import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MailroomClient } from 'mailroom-catcher/client';
import { describe, expect, it } from 'vitest';
import { startChildMailroom } from '../helpers/child-mailroom.js';
import { useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

const bin = fileURLToPath(new URL('../../bin/mailroom.js', import.meta.url));
const mailroom = await useMailroom();
const client = new MailroomClient(mailroom.apiUrl);
/** A port nothing listens on. */
const closed = 'http://127.0.0.1:9';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const clean = { ...process.env };
  delete clean.MAILROOM_API;
  return new Promise((resolve) => {
    execFile('node', [bin, ...args], { env: { ...clean, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('mailroom healthcheck', () => {
  it('exits 0 when Mailroom is ready, by --api or MAILROOM_API', async () => {
    expect(await cli(['healthcheck', '--api', mailroom.apiUrl])).toStrictEqual({ code: 0, stdout: `mailroom is ready at ${mailroom.apiUrl}\n`, stderr: '' });
    expect((await cli(['healthcheck'], { MAILROOM_API: `${mailroom.apiUrl}/` })).code).toBe(0);
    expect((await cli(['healthcheck'], { MAILROOM_HTTP_PORT: String(mailroom.ports.http) })).code).toBe(0);
  });

  it('exits 1 when nothing answers, after --wait when given', async () => {
    expect(await cli(['healthcheck', '--api', closed])).toStrictEqual({ code: 1, stdout: '', stderr: `mailroom healthcheck: not ready at ${closed}\n` });
    const started = Date.now();
    expect((await cli(['healthcheck', '--api', closed, '--wait', '0.6'])).code).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
  });

  it('exits 2 on bad usage and documents the exit statuses', async () => {
    expect(await cli(['healthcheck', '--api', 'localhost:8025'])).toMatchObject({ code: 2, stderr: 'mailroom healthcheck: --api: expected an http:// or https:// URL, got "localhost:8025"\n' });
    expect(await cli(['healthcheck', '--wait', 'soon'])).toMatchObject({ code: 2, stderr: 'mailroom healthcheck: --wait: expected a number of seconds, got "soon"\n' });
    const help = await cli(['healthcheck', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit status: 0 ready, 1 not ready or unreachable, 2 bad usage.');
  });
});

describe('--ready-file', () => {
  it('lets healthcheck, send and wait find a Mailroom whose ports were given as arguments, and is gone after it stops', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mailroom-ready-')), 'ready.json');
    const child = await startChildMailroom(['--ready-file', file]);
    const env = { MAILROOM_READY_FILE: file };
    expect(await cli(['healthcheck', '--wait', '5'], env)).toStrictEqual({ code: 0, stdout: `mailroom is ready at ${child.apiUrl}\n`, stderr: '' });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toStrictEqual({ pid: child.pid, apiUrl: child.apiUrl, host: '127.0.0.1', ports: child.ports });
    const sent = await cli(['send', '--to', 'ready@example.test', '--subject', 'found by the ready file'], env);
    expect(sent.code).toBe(0);
    const waited = await cli(['wait', '--to', 'ready@example.test', '--timeout', '5'], env);
    expect([waited.code, (JSON.parse(waited.stdout) as { id: string; subject: string }).subject]).toStrictEqual([0, 'found by the ready file']);
    expect((JSON.parse(waited.stdout) as { id: string }).id).toBe(sent.stdout.trim());
    // Flags and MAILROOM_API still win over the file.
    expect((await cli(['healthcheck', '--api', closed], env)).code).toBe(1);
    await child.stop();
    expect(existsSync(file)).toBe(false);
    expect(await cli(['healthcheck'], { ...env, MAILROOM_HTTP_PORT: String(child.ports.http) })).toStrictEqual({ code: 1, stdout: '', stderr: `mailroom healthcheck: not ready at ${child.apiUrl}\n` });
  });

  it('stops Mailroom at start when the file cannot be written, naming the setting', async () => {
    const result = await cli(['--smtp-port', '0', '--http-port', '0', '--pop3-port', '0', '--imap-port', '0', '--log-level', 'silent'], { MAILROOM_READY_FILE: '/nonexistent-dir/ready.json' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^mailroom: MAILROOM_READY_FILE: cannot write \/nonexistent-dir\/ready\.json: ENOENT: no such file or directory, open '\/nonexistent-dir\/ready\.json\.\d+\.tmp'\n$/);
  });
});

describe('mailroom send', () => {
  it('sends a message with recipients, headers and attachments, printing its id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailroom-send-'));
    const file = join(dir, 'report.csv');
    writeFileSync(file, 'a,b\n1,2\n');
    const inbox = client.inbox();
    const result = await cli([
      'send', '--smtp', `127.0.0.1:${mailroom.ports.smtp}`, '--from', 'ci@example.com', '--to', `${inbox.address},other@example.com`, '--bcc', 'audit@example.com',
      '--subject', 'Smoke test', '--body', 'It works', '--html', '<p>It <b>works</b></p>', '--attach', file, '--header', 'X-Run: 42',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const id = result.stdout.trim();
    const message = await client.message(id);
    expect(message).toMatchObject({ subject: 'Smoke test', text: 'It works', from: { address: 'ci@example.com' } });
    expect(message.html).toContain('<b>works</b>');
    expect(message.envelope.rcptTo).toStrictEqual([inbox.address, 'other@example.com', 'audit@example.com']);
    expect(message.header('x-run')).toBe('42');
    expect(message.attachments).toMatchObject([{ filename: 'report.csv', size: 8, sha256: createHash('sha256').update('a,b\n1,2\n').digest('hex') }]);
  });

  it('has defaults like swaks, and takes the port from MAILROOM_SMTP', async () => {
    const result = await cli(['send'], { MAILROOM_SMTP: `127.0.0.1:${mailroom.ports.smtp}` });
    expect(result.code).toBe(0);
    const message = await client.message(result.stdout.trim());
    expect(message).toMatchObject({ subject: 'Test message from mailroom send', envelope: { mailFrom: 'sender@example.com', rcptTo: ['recipient@example.com'] } });
    expect(message.text).toMatch(/^This is a test message sent by mailroom send at \d{4}-/);
  });

  it('exits 1 when the server cannot be reached and 2 on bad usage', async () => {
    const refused = await cli(['send', '--smtp', '127.0.0.1:9']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^mailroom send: .*\(127\.0\.0\.1:9\)\n$/);
    expect(await cli(['send', '--attach', '/no/such/file'])).toStrictEqual({ code: 2, stdout: '', stderr: 'mailroom send: --attach: cannot read /no/such/file: ENOENT\n' });
    expect(await cli(['send', '--smtp', 'host:99999'])).toMatchObject({ code: 2, stderr: 'mailroom send: --smtp: expected HOST:PORT, got "host:99999"\n' });
    expect(await cli(['send', '--header', 'no colon'])).toMatchObject({ code: 2 });
    expect(await cli(['send', 'extra'])).toMatchObject({ code: 2, stderr: 'mailroom send: unexpected argument extra (see --help)\n' });
  });
});

describe('mailroom wait', () => {
  it('prints the matching message as JSON', async () => {
    const inbox = client.inbox();
    const waiting = cli(['wait', '--api', mailroom.apiUrl, '--to', inbox.address, '--subject', 'Your code', '--timeout', '10']);
    await send(mailroom, { to: inbox.address, subject: 'Not it' });
    const id = await send(mailroom, { to: inbox.address, subject: 'Your code is 1234', text: 'Code: 1234' });
    const result = await waiting;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as { id: string; subject: string; text: string; attachments: unknown[] };
    expect(printed).toMatchObject({ id, subject: 'Your code is 1234', text: 'Code: 1234\n', attachments: [] });
  });

  it('takes a /regex/ subject, --count, --query and --after', async () => {
    const inbox = client.inbox();
    const first = await send(mailroom, { from: 'shop@example.com', to: inbox.address, subject: 'Order 17 shipped' });
    await send(mailroom, { from: 'shop@example.com', to: inbox.address, subject: 'Order 18 shipped', attachments: [{ filename: 'x.txt', content: 'x' }] });
    const regex = await cli(['wait', '--api', mailroom.apiUrl, '--to', inbox.address, '--subject', '/ORDER 1[8-9]/i', '--timeout', '5']);
    expect(JSON.parse(regex.stdout)).toMatchObject({ subject: 'Order 18 shipped' });
    const both = await cli(['wait', '--to', inbox.address, '--from', 'shop@example.com', '--count', '2', '--timeout', '5'], { MAILROOM_API: mailroom.apiUrl });
    expect((JSON.parse(both.stdout) as { subject: string }[]).map((m) => m.subject)).toStrictEqual(['Order 17 shipped', 'Order 18 shipped']);
    const query = await cli(['wait', '--api', mailroom.apiUrl, '--query', `to:${inbox.address} has:attachment`, '--timeout', '5']);
    expect(JSON.parse(query.stdout)).toMatchObject({ subject: 'Order 18 shipped' });
    const after = await cli(['wait', '--api', mailroom.apiUrl, '--to', inbox.address, '--after', first, '--timeout', '5']);
    expect(JSON.parse(after.stdout)).toMatchObject({ subject: 'Order 18 shipped' });
  });

  it('exits 1 on timeout, saying what arrived instead', async () => {
    const inbox = client.inbox();
    await send(mailroom, { to: inbox.address, subject: 'Welcome aboard' });
    const started = Date.now();
    const result = await cli(['wait', '--api', mailroom.apiUrl, '--to', inbox.address, '--subject', 'Password reset', '--timeout', '0.5']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`mailroom wait: Timed out after 500 ms waiting for a message matching to:${inbox.address} subject:"Password reset".\n`);
    expect(result.stderr).toContain(`Arrived at ${inbox.address} instead (newest first):\n  - "Welcome aboard" from app@example.com to ${inbox.address}`);
    const after = await cli(['wait', '--api', mailroom.apiUrl, '--to', inbox.address, '--after', 'now', '--timeout', '0.2']);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain(`Nothing arrived at ${inbox.address}.`);
  });

  it('exits 1 when Mailroom is unreachable and 2 on bad usage', async () => {
    const unreachable = await cli(['wait', '--api', closed, '--timeout', '1']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^mailroom wait: Cannot reach Mailroom at http:\/\/127\.0\.0\.1:9: /);
    for (const [args, message] of [
      [['--timeout', 'soon'], '--timeout: expected a number of seconds, got "soon"'],
      [['--count', '0'], '--count: expected a whole number from 1 to 1000, got "0"'],
      [['--subject', '/(/'], '--subject: Invalid regular expression: /(/: Unterminated group'],
      [['--bogus'], '--bogus: unknown option (see --help)'],
      [['--to'], '--to: needs a value'],
    ] as const) {
      expect(await cli(['wait', '--api', mailroom.apiUrl, ...args])).toStrictEqual({ code: 2, stdout: '', stderr: `mailroom wait: ${message}\n` });
    }
    const badQuery = await cli(['wait', '--api', mailroom.apiUrl, '--query', 'before:2026-13-45', '--timeout', '1']);
    expect(badQuery.code).toBe(2);
    expect(badQuery.stderr).toMatch(/^mailroom wait: Mailroom answered 400: query: before:/);
  });

  it('is listed in --help with the exit statuses', async () => {
    const help = await cli(['--help']);
    expect(help.stdout).toContain('mailroom wait [--to ADDR] [--subject TEXT] [--timeout SECONDS] [--api URL]');
    expect(help.stdout).toContain('Exit status: 0 success; 1 failure');
    const waitHelp = await cli(['wait', '--help']);
    expect(waitHelp).toMatchObject({ code: 0, stderr: '' });
    expect(waitHelp.stdout).toContain('Exit status: 0 found, 1 timed out');
  });
});
