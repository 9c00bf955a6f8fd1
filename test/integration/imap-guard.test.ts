import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ImapWire } from '../helpers/imap-wire.js';
import { useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';
import { chromiumPost } from '../helpers/chromium-post.js';

const open = await useMailroom();
/** Each with a throttle of its own. */
const guarded = await useMailroom({ imapAuth: { ann: 'right' } });
const guardedToo = await useMailroom({ imapAuth: { ann: 'right' } });
/** Two messages, neither flagged, as an EXAMINE sees them (\Recent, not taken). */
const UNTOUCHED = ['* 1 FETCH (FLAGS (\\Recent))', '* 2 FETCH (FLAGS (\\Recent))', 'f OK FETCH completed'];


/** Everything the server sends after its greeting, and whether it closed the connection within 3 s. */
async function afterGreeting(port: number, sent: string): Promise<{ reply: string; closed: boolean }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const close = once(socket, 'close').then(() => (closed = true));
  while (!text.includes('\r\n')) await new Promise((resolve) => setTimeout(resolve, 5));
  const greeting = text.slice(0, text.indexOf('\r\n') + 2);
  expect(greeting).toMatch(/^\* OK \[CAPABILITY [^\]]+\] Mailroom IMAP ready\r\n$/);
  socket.write(sent);
  await Promise.race([close, new Promise((resolve) => setTimeout(resolve, 3000))]);
  socket.destroy();
  return { reply: text.slice(greeting.length), closed };
}

async function flagsOfInbox(): Promise<string[]> {
  const wire = await ImapWire.open(open.ports.imap);
  await wire.command('l', 'LOGIN checker pw');
  await wire.command('e', 'EXAMINE INBOX');
  const lines = await wire.command('f', 'FETCH 1:* (FLAGS)');
  await wire.close();
  return lines;
}

describe('HTTP sent to the IMAP port', () => {
  it('is answered BYE and closed at the request line, so a page cannot run the IMAP commands in its body', async () => {
    await send(open, { subject: 'keep me' });
    await send(open, { subject: 'and me' });
    expect(await flagsOfInbox()).toStrictEqual(UNTOUCHED);
    const body = 'a LOGIN x y\r\nb SELECT INBOX\r\nc STORE 1:* +FLAGS (\\Deleted)\r\nd EXPUNGE\r\n';
    expect(await afterGreeting(open.ports.imap, chromiumPost(open.ports.imap, body))).toStrictEqual({ reply: '* BYE This port speaks IMAP, not HTTP\r\n', closed: true });
    expect(await flagsOfInbox()).toStrictEqual(UNTOUCHED);
  });

  it('is answered BYE and closed at a header line before login; after login such a line is only a bad command', async () => {
    const sent = 'a CAPABILITY\r\nHost: 127.0.0.1\r\nb LOGIN x y\r\nc SELECT INBOX\r\nd STORE 1:* +FLAGS (\\Deleted)\r\n';
    const { reply, closed } = await afterGreeting(open.ports.imap, sent);
    expect(reply).toMatch(/^\* CAPABILITY IMAP4rev1 [^\r\n]+\r\na OK CAPABILITY completed\r\n\* BYE This port speaks IMAP, not HTTP\r\n$/);
    expect(closed).toBe(true);
    expect(await flagsOfInbox()).toStrictEqual(UNTOUCHED);

    const wire = await ImapWire.open(open.ports.imap);
    await wire.command('l', 'LOGIN user pw');
    expect(await wire.command('Host:', '127.0.0.1')).toStrictEqual(['Host: BAD Invalid command name']);
    expect(await wire.command('n', 'NOOP')).toStrictEqual(['n OK NOOP completed']);
    await wire.close();
  });
});

const NO = 'NO [AUTHENTICATIONFAILED] Invalid user name or password';
/** The server keeps the waits to the millisecond; answers reach the client with some jitter. */
const JITTER = 15;

describe('login throttling', () => {
  it('makes wrong passwords in a row wait 100, 200, 400, 800 ms, over parallel connections of one address, and lets the right one in', async () => {
    const mailroom = guarded;
    const wires = await Promise.all(Array.from({ length: 6 }, () => ImapWire.open(mailroom.ports.imap)));
    const answered: number[] = [];
    for (const [i, wire] of wires.slice(0, 5).entries()) {
      expect(await wire.command(`a${i}`, 'LOGIN ann wrong')).toStrictEqual([`a${i} ${NO}`]);
      answered.push(Date.now());
    }
    const gaps = answered.slice(1).map((at, i) => at - answered[i]!);
    for (const [i, wait] of [100, 200, 400, 800].entries()) expect(gaps[i]).toBeGreaterThanOrEqual(wait - JITTER);
    const started = Date.now();
    const ok = await wires[5]!.command('b', 'LOGIN ann right');
    expect(ok).toStrictEqual([expect.stringMatching(/^b OK \[CAPABILITY IMAP4rev1 .*\] Logged in$/)]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1600 - JITTER);
    await Promise.all(wires.map((wire) => wire.close()));

    // Without --imap-auth every login succeeds, so none waits, even after refused ones.
    const free = await Promise.all(Array.from({ length: 6 }, () => ImapWire.open(open.ports.imap)));
    const freeStart = Date.now();
    for (const [i, wire] of free.entries()) {
      // An empty user name is refused, yet no password was guessed.
      expect(await wire.command(`e${i}`, 'LOGIN "" pw')).toStrictEqual([`e${i} ${NO}`]);
      expect(await wire.command(`l${i}`, 'LOGIN anyone pw')).toStrictEqual([expect.stringMatching(new RegExp(`^l${i} OK `))]);
    }
    // Throttled, the five refusals after the first would wait 100 + 200 + 400 + 800 + 1600 ms; twelve
    // round trips on a loaded machine take well under that, if not always under a second.
    expect(Date.now() - freeStart).toBeLessThan(2500);
    await Promise.all(free.map((wire) => wire.close()));
  }, 20_000);

  it('throttles AUTHENTICATE PLAIN the same way, and serves parallel guesses one at a time', async () => {
    const mailroom = guardedToo;
    const plain = (user: string, password: string): string => Buffer.from(`\0${user}\0${password}`).toString('base64');
    const wires = await Promise.all(Array.from({ length: 4 }, () => ImapWire.open(mailroom.ports.imap)));
    const started = Date.now();
    const answered = await Promise.all(
      wires.map(async (wire, i) => {
        expect(await wire.command(`p${i}`, `AUTHENTICATE PLAIN ${plain('ann', `wrong${i}`)}`)).toStrictEqual([`p${i} ${NO}`]);
        return Date.now() - started;
      }),
    );
    answered.sort((a, b) => a - b);
    for (let i = 1; i < answered.length; i++) expect(answered[i]! - answered[i - 1]!).toBeGreaterThanOrEqual(100 - JITTER);
    // With a continuation, too: the fourth failure holds the next attempt back 800 ms.
    const from = wires[0]!.lines.length;
    wires[0]!.write('q AUTHENTICATE PLAIN\r\n');
    await wires[0]!.until(/^\+ $/, from);
    wires[0]!.write(`${plain('ann', 'right')}\r\n`);
    expect(await wires[0]!.until(/^q /, from)).toStrictEqual(['+ ', expect.stringMatching(/^q OK \[CAPABILITY IMAP4rev1 .*\] Logged in$/)]);
    expect(Date.now() - (started + answered[3]!)).toBeGreaterThanOrEqual(800 - JITTER);
    await Promise.all(wires.map((wire) => wire.close()));
  }, 20_000);
});
