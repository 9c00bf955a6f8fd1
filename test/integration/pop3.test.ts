import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { api, mailroomForTest } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';
import { SmtpWire } from '../helpers/smtp-wire.js';

const run = promisify(execFile);
const script = fileURLToPath(new URL('./python/poplib_session.py', import.meta.url));

async function poplib<T = Record<string, unknown>>(port: number, mode: string, user?: string, secret?: string): Promise<T> {
  const args = [script, String(port), mode, ...(user ? [user] : []), ...(secret ? [secret] : [])];
  const { stdout } = await run('python3', args);
  return JSON.parse(stdout) as T;
}

/** A message with a bare LF and lines that start with dots, sent over the wire as is. */
async function sendAwkward(port: number): Promise<string> {
  const wire = await SmtpWire.open(port);
  await wire.reply();
  await wire.command('EHLO pop.test');
  await wire.command('MAIL FROM:<a@example.test>');
  await wire.command('RCPT TO:<ann@example.test>');
  await wire.command('DATA');
  const reply = await wire.command('Subject: dots\r\nTo: ann@example.test\r\n\r\n..leading dot\nbare LF line\r\n...two dots\r\n.');
  wire.close();
  return /queued as (\S+)/.exec(reply.text)![1]!;
}

describe('POP3 with Python poplib', () => {
  it('walks every TRANSACTION command; QUIT deletes only what was marked', async () => {
    const mailroom = await mailroomForTest();
    const first = await sendAwkward(mailroom.ports.smtp);
    const second = await send(mailroom, { subject: 'second', to: 'bob@example.test' });
    const rawFirst = Buffer.from(await (await fetch(`${mailroom.apiUrl}/api/messages/${first}/raw`)).arrayBuffer()).toString('latin1');
    const crlf = rawFirst.replace(/\r?\n/g, '\r\n');
    const secondSize = Buffer.from(await (await fetch(`${mailroom.apiUrl}/api/messages/${second}/raw`)).arrayBuffer()).length;

    const out = await poplib<Record<string, unknown>>(mailroom.ports.pop3, 'walk');
    expect(out.welcome).toMatch(/^\+OK Mailroom POP3 ready <\d+\.\d+\.\d+@[^>]+>$/);
    expect(out.capa).toStrictEqual({
      TOP: [],
      UIDL: [],
      USER: [],
      SASL: ['PLAIN'],
      'RESP-CODES': [],
      'AUTH-RESP-CODE': [],
      PIPELINING: [],
      EXPIRE: ['NEVER'],
      IMPLEMENTATION: ['Mailroom'],
    });
    expect(out.pass).toBe(`+OK tester has 2 messages (${crlf.length + secondSize} octets)`);
    expect(out.stat).toStrictEqual([2, crlf.length + secondSize]);
    expect(out.list).toStrictEqual([`1 ${crlf.length}`, `2 ${secondSize}`]);
    expect(out.uidl).toStrictEqual([`1 ${first}`, `2 ${second}`]);
    expect(out.uidl1).toBe(`+OK 1 ${first}`);
    // poplib undoes the byte-stuffing: what it returns are the message's lines.
    expect(out.retr1).toStrictEqual(crlf.split('\r\n').slice(0, -1));
    expect(out.top1).toStrictEqual(['Subject: dots', 'To: ann@example.test', '', '.leading dot']);
    expect(out.list_after_dele).toStrictEqual([`1 ${crlf.length}`]);
    expect(out.quit).toBe('+OK Mailroom POP3 signing off (1 message deleted)');
    const left = await api<{ messages: { id: string }[] }>(mailroom, '/api/messages');
    expect(left.body.messages.map((m) => m.id)).toStrictEqual([first]);
  });

  it('shows an address only the mail addressed to it, and locks its maildrop', async () => {
    const mailroom = await mailroomForTest();
    await sendAwkward(mailroom.ports.smtp);
    await send(mailroom, { subject: 'cc', to: 'x@example.test', cc: 'Ann <ANN@example.test>' });
    await send(mailroom, { subject: 'bcc', to: 'x@example.test', bcc: 'ann@example.test' });
    await send(mailroom, { subject: 'other', to: 'x@example.test' });
    const ann = await poplib<{ stat: number[] }>(mailroom.ports.pop3, 'plain', 'ann@example.test', 'pw');
    expect(ann.stat[0]).toBe(3);
    const all = await poplib<{ stat: number[] }>(mailroom.ports.pop3, 'plain', 'everything', 'pw');
    expect(all.stat[0]).toBe(4);
    const lock = await poplib(mailroom.ports.pop3, 'lock', 'ann@example.test', 'pw');
    expect(lock).toMatchObject({
      second: '-ERR [IN-USE] Maildrop already locked by another session',
      after_quit: expect.stringMatching(/^\+OK ann@example\.test has 3 messages \(\d+ octets\)$/),
    });
  });

  it('checks APOP digests and AUTH PLAIN against --pop3-auth', async () => {
    const mailroom = await mailroomForTest({ pop3Auth: { alice: 'tanstaaf' } });
    await send(mailroom, { subject: 'for alice' });
    expect(await poplib(mailroom.ports.pop3, 'apop', 'alice', 'tanstaaf')).toMatchObject({
      apop: expect.stringMatching(/^\+OK alice has 1 message \(\d+ octets\)$/),
    });
    await expect(poplib(mailroom.ports.pop3, 'apop', 'alice', 'wrong')).rejects.toThrow(/-ERR \[AUTH\] Invalid user name or password/);
    expect(await poplib(mailroom.ports.pop3, 'plain', 'alice', 'tanstaaf')).toMatchObject({ stat: [1, expect.any(Number)] });
    await expect(poplib(mailroom.ports.pop3, 'plain', 'mallory', 'tanstaaf')).rejects.toThrow(/\[AUTH\]/);
  });

  it('upgrades with STLS when TLS is configured', async () => {
    const mailroom = await mailroomForTest({ tls: 'self-signed' });
    const out = await poplib<{ stls: string; capa_after: string[]; pass: string }>(mailroom.ports.pop3, 'stls');
    expect(out.stls).toBe('+OK Begin TLS negotiation');
    expect(out.capa_after).not.toContain('STLS');
    expect(out.pass).toBe('+OK tester has 0 messages (0 octets)');
  });
});

describe('POP3 session limits', () => {
  it('logs out an idle session without deleting what it marked (RFC 1939 §3)', async () => {
    const mailroom = await mailroomForTest({ pop3Idle: 1 });
    const id = await send(mailroom, { subject: 'stays' });
    const socket = connect(mailroom.ports.pop3, '127.0.0.1');
    socket.setEncoding('latin1');
    let received = '';
    socket.on('data', (chunk: string) => (received += chunk));
    await once(socket, 'connect');
    socket.write('USER u\r\nPASS p\r\nDELE 1\r\n');
    const started = Date.now();
    await once(socket, 'close');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(received.trimEnd().split('\r\n').slice(1)).toStrictEqual([
      '+OK Hello u, send PASS',
      expect.stringMatching(/^\+OK u has 1 message \(\d+ octets\)$/),
      '+OK Message 1 deleted',
      '-ERR Autologout: idle for too long',
    ]);
    expect((await api(mailroom, `/api/messages/${id}`)).status).toBe(200);
  });

  it('announces QUIT deletions to live clients as message:delete', async () => {
    const { io } = await import('socket.io-client');
    const mailroom = await mailroomForTest();
    const id = await send(mailroom, { subject: 'to be popped' });
    const socket = io(mailroom.apiUrl, { transports: ['websocket'] });
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const deleted = new Promise((resolve) => socket.once('message:delete', resolve));
    const pop = connect(mailroom.ports.pop3, '127.0.0.1');
    pop.write('USER u\r\nPASS p\r\nDELE 1\r\nQUIT\r\n');
    expect(await deleted).toStrictEqual({ ids: [id] });
    pop.destroy();
    socket.close();
  });
});

describe('POP3 over implicit TLS', () => {
  it('serves POP3S on --pop3s-port, without offering STLS there', async () => {
    const mailroom = await mailroomForTest({ tls: 'self-signed', pop3sPort: 0 });
    await send(mailroom, { subject: 'secure', text: 'over TLS' });
    const out = await poplib<{ capa: string[]; pass: string; retr1: string[] }>(mailroom.ports.pop3s!, 'pop3s');
    expect(out.capa).not.toContain('STLS');
    expect(out.pass).toMatch(/^\+OK tester has 1 message \(\d+ octets\)$/);
    expect(out.retr1.slice(-1)).toStrictEqual(['over TLS']);
  });
});

describe('POP3 bad input', () => {
  it('answers -ERR with a reason and goes on; ten errors in a row close the connection; a drop deletes nothing', async () => {
    const mailroom = await mailroomForTest();
    const id = await send(mailroom, { subject: 'keep me' });
    const socket = connect(mailroom.ports.pop3, '127.0.0.1');
    socket.setEncoding('latin1');
    let received = '';
    socket.on('data', (chunk: string) => (received += chunk));
    const lines = async (count: number): Promise<string[]> => {
      const deadline = Date.now() + 5000;
      while (received.split('\r\n').length - 1 < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      return received.split('\r\n').slice(0, count);
    };
    await once(socket, 'connect');
    socket.write('STAT\r\nFROB\r\nPASS x\r\nUSER u\r\nPASS p\r\nRETR 9\r\nRETR x\r\nDELE 1\r\nRETR 1\r\nUSER again\r\n');
    socket.write(`NOOP ${'x'.repeat(600)}\r\n`);
    socket.write(Buffer.from([0xff, 0x00, 0x13, 0x0d, 0x0a]));
    socket.write(`UIDL ${'1'.repeat(256)}\r\n`);
    expect((await lines(14)).slice(1)).toStrictEqual([
      '-ERR Not logged in yet',
      '-ERR Unknown command',
      '-ERR Send USER first',
      '+OK Hello u, send PASS',
      '+OK u has 1 message (' + (await api<{ messages: { size: number }[] }>(mailroom, '/api/messages')).body.messages[0]!.size + ' octets)',
      '-ERR No message 9',
      '-ERR Invalid message number',
      '+OK Message 1 deleted',
      '-ERR Message 1 is deleted',
      '-ERR Already logged in',
      '-ERR Line too long',
      '-ERR Unknown command',
      '-ERR Arguments longer than 255 octets',
    ]);
    socket.write('FOO\r\n'.repeat(10));
    await once(socket, 'close');
    expect(received.trimEnd().split('\r\n').slice(-2)).toStrictEqual(['-ERR Unknown command', '-ERR Too many errors, closing the connection']);
    // The connection ended without QUIT: the message marked deleted is still there.
    expect((await api(mailroom, `/api/messages/${id}`)).status).toBe(200);
  });
});

describe('POP3 against clients and the reference server', () => {
  it('serves a message to curl', async () => {
    const mailroom = await mailroomForTest();
    const id = await sendAwkward(mailroom.ports.smtp);
    const { stdout } = await run('curl', ['-s', `pop3://127.0.0.1:${mailroom.ports.pop3}/1`, '-u', 'user:pass']);
    const raw = Buffer.from(await (await fetch(`${mailroom.apiUrl}/api/messages/${id}/raw`)).arrayBuffer()).toString('latin1');
    expect(stdout).toBe(raw.replace(/\r?\n/g, '\r\n'));
  });

  it('gives the LIST sizes and the RETR and TOP bytes Dovecot gives for the same mail', async () => {
    const mailroom = await mailroomForTest();
    const { startDovecot, pop3Exchange, Pop3Client } = await import('../helpers/dovecot/dovecot.js');
    const ids = [await sendAwkward(mailroom.ports.smtp), await send(mailroom, { subject: 'html', html: '<p>x</p>', text: 'x' })];
    const raws = await Promise.all(ids.map(async (id) => Buffer.from(await (await fetch(`${mailroom.apiUrl}/api/messages/${id}/raw`)).arrayBuffer())));
    const dovecot = await startDovecot(raws);
    try {
      const commands = ['STAT', 'LIST', 'RETR 1', 'TOP 1 1', 'RETR 2', 'TOP 2 0'];
      const reference = await pop3Exchange(dovecot, commands);
      const ours = await Pop3Client.connect(mailroom.ports.pop3);
      await ours.command('USER tester');
      await ours.command('PASS pw');
      const replies: string[] = [];
      for (const command of commands) replies.push(await ours.command(command));
      ours.close();
      // Status texts are each server's own; the data lines must be the same bytes.
      const data = (reply: string): string => reply.replace(/^\+OK[^\r\n]*/, '+OK');
      expect(replies[0]).toBe(reference[0]);
      expect(replies.map(data)).toStrictEqual(reference.map(data));
    } finally {
      await dovecot.stop();
    }
  });
});
