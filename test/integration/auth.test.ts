import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import nodemailer from 'nodemailer';
import { io as ioClient } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { MailroomClient, MailroomError } from 'mailroom-catcher/client';
import { startChildMailroom } from '../helpers/child-mailroom.js';
import { mailroomForTest, useMailroom } from '../helpers/mailroom.js';
import { SmtpWire } from '../helpers/smtp-wire.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/mailroom.js', import.meta.url));
const TOKEN = 'ci-token-0123456789abcdef';
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
// As `htpasswd -B` writes it ($2y$), and as bcrypt libraries do ($2b$).
const bobHash = bcrypt.hashSync('bob-secret', 4).replace(/^\$2b\$/, '$2y$');
const carolHash = bcrypt.hashSync('carol-secret', 4);

describe('web inbox and API credentials', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-auth-'));
  const usersFile = join(dir, 'users');
  writeFileSync(usersFile, `# Mailroom logins\nbob:${bobHash}\ncarol:${carolHash}\n`);
  const mailroom = await useMailroom({ uiAuth: { ann: 'plain:secret' }, apiToken: TOKEN });
  const fromFile = await startChildMailroom(['--ui-auth', `@${usersFile}`]);
  const get = (path: string, authorization?: string): Promise<Response> =>
    fetch(`${mailroom.apiUrl}${path}`, authorization === undefined ? {} : { headers: { authorization } });

  it('asks for credentials with a basic challenge and a JSON body, on the API and on the page', async () => {
    for (const path of ['/api/messages', '/', '/api/info']) {
      const response = await get(path);
      expect(response.status, path).toBe(401);
      expect(response.headers.get('www-authenticate'), path).toBe('Basic realm="Mailroom", charset="UTF-8"');
      expect(await response.json(), path).toStrictEqual({ error: 'unauthorized', message: 'Credentials required: basic auth, or Authorization: Bearer <token>' });
    }
  });

  it('takes a login, the token as bearer, or the token as a basic password; refuses the rest', async () => {
    const statuses = await Promise.all(
      [basic('ann', 'plain:secret'), `Bearer ${TOKEN}`, basic('anyone', TOKEN), basic('ann', 'wrong'), `Bearer ${TOKEN}x`, basic('nobody', 'plain:secret'), 'Digest x'].map(
        async (header) => (await get('/api/messages', header)).status,
      ),
    );
    expect(statuses).toStrictEqual([200, 200, 200, 401, 401, 401, 401]);
  });

  it('reads bcrypt entries from an @file, as htpasswd -B writes them', async () => {
    const statuses: number[] = [];
    for (const header of [basic('bob', 'bob-secret'), basic('carol', 'carol-secret'), basic('bob', 'carol-secret')]) {
      statuses.push((await fetch(`${fromFile.apiUrl}/api/messages`, { headers: { authorization: header } })).status);
    }
    expect(statuses).toStrictEqual([200, 200, 401]);
  });

  it('leaves /api/health open, but checks credentials sent to it', async () => {
    expect((await get('/api/health')).status).toBe(200);
    expect((await get('/api/health', `Bearer ${TOKEN}`)).status).toBe(200);
    expect((await get('/api/health', 'Bearer wrong-token-0123456789')).status).toBe(401);
  });

  it('requires credentials for live events', async () => {
    const attempt = (headers: Record<string, string>): Promise<string | null> =>
      new Promise((resolve) => {
        const socket = ioClient(mailroom.apiUrl, { transports: ['websocket'], extraHeaders: headers, reconnection: false });
        socket.once('connect', () => (socket.close(), resolve(null)));
        socket.once('connect_error', (error) => (socket.close(), resolve(error.message)));
      });
    expect(await attempt({})).not.toBeNull();
    expect(await attempt({ authorization: basic('ann', 'wrong') })).not.toBeNull();
    expect(await attempt({ authorization: basic('ann', 'plain:secret') })).toBeNull();
    expect(await attempt({ authorization: `Bearer ${TOKEN}` })).toBeNull();
  });

  it('works from the typed client with a token or a login, and says 401 without', async () => {
    expect((await new MailroomClient({ url: mailroom.apiUrl, token: TOKEN }).messages()).total).toBe(0);
    expect((await new MailroomClient({ url: mailroom.apiUrl, auth: { username: 'ann', password: 'plain:secret' } }).messages()).total).toBe(0);
    const refused = await new MailroomClient({ url: mailroom.apiUrl }).messages().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(MailroomError);
    expect(refused).toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('works from curl', async () => {
    const { stdout } = await run('curl', ['-sS', '-u', 'ann:plain:secret', `${mailroom.apiUrl}/api/messages`]);
    expect(JSON.parse(stdout)).toStrictEqual({ total: 0, unread: 0, messages: [] });
    const bearer = await run('curl', ['-sS', '-H', `Authorization: Bearer ${TOKEN}`, '-o', '/dev/null', '-w', '%{http_code}', `${mailroom.apiUrl}/api/messages`]);
    expect(bearer.stdout).toBe('200');
    const none = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `${mailroom.apiUrl}/api/messages`]);
    expect(none.stdout).toBe('401');
  });

  it('works from the CLI with --api-token, --api-auth or MAILROOM_API_TOKEN', async () => {
    const env = { ...process.env, MAILROOM_API: mailroom.apiUrl, MAILROOM_API_TOKEN: '', MAILROOM_API_AUTH: '' };
    const wait = (args: string[], extra: Record<string, string> = {}) =>
      run(process.execPath, [bin, 'wait', '--timeout', '0.2', ...args], { env: { ...env, ...extra } }).then(
        () => 0,
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
      );
    expect(await wait([])).toStrictEqual({ code: 1, stderr: 'mailroom wait: Mailroom answered 401: Credentials required: basic auth, or Authorization: Bearer <token>\n' });
    const timedOut = { code: 1, stderr: expect.stringContaining('Timed out after 200 ms') };
    expect(await wait(['--api-token', TOKEN])).toMatchObject(timedOut);
    expect(await wait(['--api-auth', 'ann:plain:secret'])).toMatchObject(timedOut);
    expect(await wait([], { MAILROOM_API_TOKEN: TOKEN })).toMatchObject(timedOut);
    const health = await run(process.execPath, [bin, 'healthcheck', '--api-token', 'wrong-token-0123456789'], { env }).catch((error: { code: number }) => error.code);
    expect(health).toBe(1);
  });

  it('slows down wrong passwords from one address, in parallel too', async () => {
    const guarded = await mailroomForTest({ uiAuth: { ann: 'right' } });
    const attempt = async (password: string): Promise<number> =>
      (await fetch(`${guarded.apiUrl}/api/messages`, { headers: { authorization: basic('ann', password) } })).status;
    expect(await attempt('wrong-1')).toBe(401);
    const started = Date.now();
    // Waits of 100, 200 and 400 ms before the 2nd, 3rd and 4th, served one at a time.
    expect(await Promise.all([attempt('wrong-2'), attempt('wrong-3'), attempt('wrong-4')])).toStrictEqual([401, 401, 401]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(650);
    expect(await attempt('right')).toBe(200);
  });
});

describe('SMTP logins', async () => {
  const mailroom = await useMailroom({ smtpAuth: { sam: 'smtp-secret', bob: bobHash } });
  const transport = (auth?: { user: string; pass: string }) =>
    nodemailer.createTransport({ host: mailroom.host, port: mailroom.ports.smtp, ignoreTLS: true, ...(auth ? { auth } : {}) });
  const message = { from: 'app@example.test', to: 'user@example.test', subject: 'Hi', text: 'hello' };

  it('refuses mail without AUTH, and wrong credentials, and keeps mail with right ones', async () => {
    await expect(transport().sendMail(message)).rejects.toMatchObject({ responseCode: 530, response: '530 5.7.0 Authentication required' });
    await expect(transport({ user: 'sam', pass: 'nope' }).sendMail(message)).rejects.toMatchObject({ responseCode: 535 });
    const info = await transport({ user: 'sam', pass: 'smtp-secret' }).sendMail(message);
    expect(info.response).toMatch(/^250 /);
    const bob = await transport({ user: 'bob', pass: 'bob-secret' }).sendMail(message);
    expect(bob.response).toMatch(/^250 /);
    const list = (await (await fetch(`${mailroom.apiUrl}/api/messages`)).json()) as { messages: { id: string }[] };
    const details = await Promise.all(list.messages.map(async (m) => (await (await fetch(`${mailroom.apiUrl}/api/messages/${m.id}`)).json()) as { smtp: { authUser: string } }));
    expect(details.map((d) => d.smtp.authUser).sort()).toStrictEqual(['bob', 'sam']);
  });

  it('answers AUTH PLAIN over the wire exactly', async () => {
    const wire = await SmtpWire.open(mailroom.ports.smtp);
    await wire.reply();
    expect((await wire.command('EHLO tester')).lines).toContain('250-AUTH PLAIN LOGIN');
    expect((await wire.command('MAIL FROM:<a@example.test>')).text).toBe('530 5.7.0 Authentication required');
    expect((await wire.command(`AUTH PLAIN ${Buffer.from('\0sam\0wrong').toString('base64')}`)).text).toBe('535 5.7.8 Authentication credentials invalid');
    expect((await wire.command(`AUTH PLAIN ${Buffer.from('\0sam\0smtp-secret').toString('base64')}`)).text).toBe('235 2.7.0 Authentication successful');
    expect((await wire.command('MAIL FROM:<a@example.test>')).code).toBe(250);
    wire.socket.destroy();
  });
});
