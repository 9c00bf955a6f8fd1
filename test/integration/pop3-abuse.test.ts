import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { bulkSend } from '../helpers/bulk.js';
import { startChildMailroom, type ChildMailroom } from '../helpers/child-mailroom.js';
import { Pop3Client } from '../helpers/dovecot/pop3-client.js';
import { api, mailroomForTest } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';
import { MiB, StalledClient, crlf, health, peakRss, pop3Stat, rawOf, repeat, repeatPair, retrReply, sendLarge, topReply, type Expected } from '../helpers/stalled-client.js';
import { chromiumPost } from '../helpers/chromium-post.js';
import { TimedLines } from '../helpers/timed-lines.js';

const GREETING = /^\+OK Mailroom POP3 ready <\d+\.\d+\.\d+@[^>]+>$/;
const line = (text: string): Buffer => Buffer.from(`${text}\r\n`, 'latin1');
const SIGN_OFF = line('+OK Mailroom POP3 signing off (0 messages deleted)');

/**
 * What a stalled client may add to the server's RSS: OUTPUT_HIGH_WATER
 * (1 MiB) of replies, one 64 KiB piece of a message, the commands read
 * before the pause (one 64 KiB chunk), and room for V8's young generation
 * and the allocator, which grow with any burst of work and are not the
 * client's doing. Without backpressure the same clients cost 250 MiB to
 * more than 1 GiB.
 */
const STALLED_RSS_BOUND = 64 * MiB;

/**
 * What a process that took a few hundred MB of mail may hold beyond its live
 * data: V8 lets external memory (Buffers) grow 64 MiB past its level at the
 * last full GC before it forces one, so that much dead SMTP input may still
 * count in RSS, plus heap and allocator slack.
 */
const GARBAGE_SLACK = 80 * MiB;

/** How long to watch RSS after a stalled client's commands: the server had queued every reply well within it. */
const WATCH_MS = 2500;
/** A million pipelined commands take a server that answers them all several seconds; the watch must outlast that. */
const FLOOD_WATCH_MS = 6000;


/** Pipelines `commands` after USER/PASS without reading, and checks the server's RSS and service meanwhile. */
async function stall(child: ChildMailroom, user: string, commands: string): Promise<{ client: StalledClient; growth: number }> {
  const before = child.rss();
  const client = await StalledClient.open(child.ports.pop3);
  client.write(`USER ${user}\r\nPASS pw\r\n${commands}QUIT\r\n`);
  const growth = (await peakRss(child, WATCH_MS)) - before;
  expect(await pop3Stat(child.ports.pop3, `other-${user}`)).toMatch(/^\+OK \d+ \d+$/);
  expect(await health(child.apiUrl)).toStrictEqual({ status: 'ok' });
  return { client, growth };
}

/** Replies a reading client gets for `commands` after USER/PASS: the warm-up before a baseline, and the expected bytes. */
async function readAll(port: number, user: string, replies: readonly Expected[], commands: string): Promise<void> {
  const client = await StalledClient.open(port);
  client.write(`USER ${user}\r\nPASS pw\r\n${commands}QUIT\r\n`);
  expect(await client.read([GREETING, line(`+OK Hello ${user}, send PASS`), ...replies, SIGN_OFF])).toMatchObject({ complete: true });
}

describe('POP3 and a client that does not read', () => {
  it('holds about the output bound for 200 pipelined RETR of a 5 MB message, serves others meanwhile, then sends every reply in order', async () => {
    const child = await startChildMailroom();
    const id = await sendLarge(child.ports.smtp, 5 * MiB, '\r\n');
    const raw = await rawOf(child.apiUrl, id);
    const reply = retrReply(raw);
    const login = line(`+OK stall has 1 message (${raw.length} octets)`);
    await readAll(child.ports.pop3, 'warm', [line(`+OK warm has 1 message (${raw.length} octets)`), reply], 'RETR 1\r\n');

    // 200 MB of replies without the bound: three times the allowance.
    const { client, growth } = await stall(child, 'stall', 'RETR 1\r\n'.repeat(40));
    expect(growth).toBeLessThan(STALLED_RSS_BOUND);
    const result = await client.read([GREETING, line('+OK Hello stall, send PASS'), login, ...repeat(reply, 40), SIGN_OFF]);
    expect(result.complete).toBe(true);
    expect(result.received).toBeGreaterThan(40 * reply.length);
  }, 120_000);

  it('converts a bare-LF message piece by piece under the same bound', async () => {
    const child = await startChildMailroom();
    const id = await sendLarge(child.ports.smtp, 5 * MiB, '\n');
    const raw = await rawOf(child.apiUrl, id);
    // Bare LFs throughout; only the last line ends in CRLF, before the end of DATA.
    expect(raw.indexOf(0x0d)).toBe(raw.length - 2);
    const reply = retrReply(raw);
    const size = crlf(raw).length;
    await readAll(child.ports.pop3, 'warm', [line(`+OK warm has 1 message (${size} octets)`), reply], 'RETR 1\r\n');

    const { client, growth } = await stall(child, 'stall', 'RETR 1\r\nTOP 1 3\r\n'.repeat(30));
    expect(growth).toBeLessThan(STALLED_RSS_BOUND);
    const top = topReply(raw, 3);
    expect(top.toString('latin1')).toMatch(/^\+OK Top of message follows\r\nSubject: large\r\nTo: big@example\.test\r\n\r\n\.\.line 0 a+\r\nline 1 b+\r\nline 2 c+\r\n\.\r\n$/);
    const result = await client.read([GREETING, line('+OK Hello stall, send PASS'), line(`+OK stall has 1 message (${size} octets)`), ...repeatPair(reply, top, 30), SIGN_OFF]);
    expect(result.complete).toBe(true);
  }, 120_000);

  it('writes pipelined LIST and UIDL of 2,000 messages in pieces, under the same bound', async () => {
    const child = await startChildMailroom();
    await bulkSend(child.ports.smtp, 2000, (i) => `listing ${i}`);
    const reader = await Pop3Client.connect(child.ports.pop3);
    await reader.command('USER reader');
    await reader.command('PASS pw');
    const list = await reader.command('LIST');
    const uidl = await reader.command('UIDL');
    await reader.command('QUIT');
    reader.close();
    const listLines = list.split('\r\n');
    expect(listLines[0]).toBe('+OK 2000 messages');
    expect(listLines.slice(1, -1).map((l) => Number(l.split(' ')[0]))).toStrictEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    const ids = new Set<string>();
    for (const offset of [0, 1000]) {
      const page = (await (await fetch(`${child.apiUrl}/api/messages?limit=1000&offset=${offset}`)).json()) as { messages: { id: string }[] };
      for (const message of page.messages) ids.add(message.id);
    }
    expect(new Set(uidl.split('\r\n').slice(1, -1).map((l) => l.split(' ')[1]))).toStrictEqual(ids);
    const pair = [line(list), line(uidl)];
    const octets = pair[0]!.length + pair[1]!.length;

    const { client, growth } = await stall(child, 'stall', 'LIST\r\nUIDL\r\n'.repeat(2000));
    expect(growth).toBeLessThan(STALLED_RSS_BOUND);
    const login = line(`+OK stall has 2000 messages (${listLines.slice(1, -1).reduce((sum, l) => sum + Number(l.split(' ')[1]), 0)} octets)`);
    const result = await client.read([GREETING, line('+OK Hello stall, send PASS'), login, ...repeatPair(pair[0]!, pair[1]!, 2000), SIGN_OFF]);
    expect(result.complete).toBe(true);
    expect(result.received).toBeGreaterThan(2000 * octets);
  }, 120_000);

  it('is dropped by the idle timeout while its replies wait, even though writes are pending', async () => {
    const child = await startChildMailroom(['--pop3-idle', '1']);
    const id = await sendLarge(child.ports.smtp, 5 * MiB, '\r\n');
    const raw = await rawOf(child.apiUrl, id);
    const reply = retrReply(raw);
    const client = await StalledClient.open(child.ports.pop3);
    client.write(`USER idle\r\nPASS pw\r\n${'RETR 1\r\n'.repeat(50)}QUIT\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // Meanwhile the maildrop was released: the same user logs in again.
    expect(await pop3Stat(child.ports.pop3, 'idle')).toBe(`+OK 1 ${raw.length}`);
    const result = await client.read([GREETING, line('+OK Hello idle, send PASS'), line(`+OK idle has 1 message (${raw.length} octets)`), ...repeat(reply, 50), SIGN_OFF]);
    // What had reached the kernel's buffers arrives, in order; then the connection is gone.
    expect(result.complete).toBe(false);
    expect(result.received).toBeLessThan(32 * MiB);
    expect(child.alive()).toBe(true);
  }, 60_000);
});


describe('POP3 snapshots and the store limit', () => {
  it('keeps no evicted message alive for idle sessions; RETR of one answers -ERR while LIST still lists it', async () => {
    const storeBytes = 16 * MiB;
    const child = await startChildMailroom(['--max-store-bytes', String(storeBytes), '--max-message-size', String(2 * MiB)]);
    const baseline = child.rss();
    const fill = async (round: number): Promise<void> => {
      // Four connections at a time: quicker than one, with little mail in flight at once.
      for (let i = 0; i < 16; i += 4) {
        await Promise.all([0, 1, 2, 3].map((j) => sendLarge(child.ports.smtp, MiB - 4096, '\r\n', `round ${round} message ${i + j}`)));
      }
    };
    const sessions: Pop3Client[] = [];
    const sizes: string[] = [];
    for (let round = 0; round < 8; round++) {
      await fill(round);
      const session = await Pop3Client.connect(child.ports.pop3);
      await session.command(`USER session${round}`);
      expect(await session.command('PASS pw')).toMatch(new RegExp(`^\\+OK session${round} has 16 messages \\(\\d+ octets\\)$`));
      sessions.push(session);
      if (round === 0) sizes.push(await session.command('LIST'));
    }
    await fill(8);
    expect(await storedCount(child)).toBe(16);
    // Eight sessions each logged in over a store-full that has since been evicted: none of it may stay.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const growth = child.rss() - baseline;
    // Snapshots cost ~50 bytes a message: 8 sessions of 16 messages are lost in the slack.
    expect(growth).toBeLessThan(storeBytes + GARBAGE_SLACK);

    const first = sessions[0]!;
    expect(await first.command('RETR 1')).toBe('-ERR Message 1 is gone: deleted or evicted since login');
    expect(await first.command('TOP 16 0')).toBe('-ERR Message 16 is gone: deleted or evicted since login');
    expect(await first.command('LIST')).toBe(sizes[0]);
    const firstSize = sizes[0]!.split('\r\n')[1]!.split(' ')[1]!;
    expect(await first.command('LIST 1')).toBe(`+OK 1 ${firstSize}`);
    expect(await first.command('UIDL 1')).toMatch(/^\+OK 1 [\w-]{16}$/);
    expect(await first.command('STAT')).toBe(`+OK 16 ${sizes[0]!.split('\r\n').slice(1, -1).reduce((sum, l) => sum + Number(l.split(' ')[1]), 0)}`);
    expect(await first.command('DELE 1')).toBe('+OK Message 1 deleted');
    expect(await first.command('QUIT')).toBe('+OK Mailroom POP3 signing off (0 messages deleted)');
    for (const session of sessions.slice(1)) session.close();
    expect(await storedCount(child)).toBe(16);
  }, 120_000);
});

async function storedCount(child: ChildMailroom): Promise<number> {
  return ((await (await fetch(`${child.apiUrl}/api/info`)).json()) as { messages: number }).messages;
}


/** curl's `curl --data-binary @- http://127.0.0.1:PORT/`: few enough header lines to stay under the error limit. */
function curlPost(port: number, body: string): string {
  return [
    'POST / HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    'User-Agent: curl/7.88.1',
    'Accept: */*',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Content-Type: application/x-www-form-urlencoded',
    '',
    body,
  ].join('\r\n');
}

/** Sends `data` on a fresh connection and returns everything the server sent until it closed. */
async function exchange(port: number, data: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('latin1');
  let received = '';
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(data);
  const timer = setTimeout(() => socket.destroy(), 5000);
  await once(socket, 'close');
  clearTimeout(timer);
  return received;
}

const ATTACK = 'USER x\r\nPASS y\r\nDELE 1\r\nQUIT\r\n';
const REFUSED = '-ERR HTTP request refused: this is a POP3 server\r\n';

describe('POP3 and HTTP requests sent to its port', () => {
  it('answers one -ERR and closes at a request line, so a browser POST body never runs', async () => {
    const mailroom = await mailroomForTest();
    const id = await send(mailroom, { subject: 'keep me' });
    for (const request of [chromiumPost(mailroom.ports.pop3, ATTACK), curlPost(mailroom.ports.pop3, ATTACK)]) {
      const [greeting, ...rest] = (await exchange(mailroom.ports.pop3, request)).split(/(?<=\r\n)/);
      expect(greeting).toMatch(/^\+OK Mailroom POP3 ready <[^>]+>\r\n$/);
      expect(rest.join('')).toBe(REFUSED);
    }
    expect((await api(mailroom, `/api/messages/${id}`)).status).toBe(200);
  });

  it('closes at a header line before login, but not after', async () => {
    const mailroom = await mailroomForTest();
    const id = await send(mailroom, { subject: 'keep me' });
    const before = await exchange(mailroom.ports.pop3, `USER x\r\nHost: 127.0.0.1:${mailroom.ports.pop3}\r\n${ATTACK}`);
    expect(before.split(/(?<=\r\n)/).slice(1).join('')).toBe(`+OK Hello x, send PASS\r\n${REFUSED}`);
    expect((await api(mailroom, `/api/messages/${id}`)).status).toBe(200);
    const after = await exchange(mailroom.ports.pop3, 'USER x\r\nPASS y\r\nX-Header: value\r\nQUIT\r\n');
    expect(after.split('\r\n').slice(3, 5)).toStrictEqual(['-ERR Unknown command', '+OK Mailroom POP3 signing off (0 messages deleted)']);
  });
});

describe('POP3 maildrop locks', () => {
  it('releases a lock once: a session closed for errors, whose client lingers, does not free the next holder\'s lock', async () => {
    const mailroom = await mailroomForTest();
    const lingering = connect({ port: mailroom.ports.pop3, host: '127.0.0.1', allowHalfOpen: true });
    lingering.on('error', () => undefined);
    let received = '';
    lingering.setEncoding('latin1').on('data', (chunk: string) => (received += chunk));
    lingering.write(`USER ann\r\nPASS pw\r\n${'FROB\r\n'.repeat(10)}`);
    await once(lingering, 'end');
    expect(received.trimEnd().split('\r\n').at(-1)).toBe('-ERR Too many errors, closing the connection');
    const holder = await Pop3Client.connect(mailroom.ports.pop3);
    await holder.command('USER ann');
    expect(await holder.command('PASS pw')).toBe('+OK ann has 0 messages (0 octets)');
    lingering.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const third = await Pop3Client.connect(mailroom.ports.pop3);
    await third.command('USER ann');
    expect(await third.command('PASS pw')).toBe('-ERR [IN-USE] Maildrop already locked by another session');
    third.close();
    holder.close();
  });
});


/**
 * Timers may fire a millisecond early against performance.now(). Times are
 * measured from when the commands were sent: a reply may arrive later than
 * the server sent it (Nagle's algorithm against a delayed ACK holds a small
 * reply up to 40 ms), never earlier, so these are true lower bounds.
 */
const TIMER_SLACK_MS = 5;
const INVALID = '-ERR [AUTH] Invalid user name or password';

describe('POP3 login throttling', () => {
  it('makes wrong passwords wait 100, 200, 400 and 800 ms in turn, over USER/PASS, APOP and AUTH PLAIN; a right one still logs in', async () => {
    const mailroom = await mailroomForTest({ pop3Auth: { alice: 'secret' } });
    const client = await TimedLines.open(mailroom.ports.pop3);
    const plain = (password: string): string => Buffer.from(`\0alice\0${password}`).toString('base64');
    const sent = performance.now();
    client.socket.write(
      `USER alice\r\nPASS wrong\r\nAPOP alice ${'0'.repeat(32)}\r\nAUTH PLAIN ${plain('wrong')}\r\nAUTH PLAIN\r\n${plain('wrong')}\r\nUSER alice\r\nPASS wrong\r\nUSER alice\r\nPASS secret\r\n`,
    );
    const lines = await client.count(11);
    expect(lines.slice(1).map((l) => l.text)).toStrictEqual([
      '+OK Hello alice, send PASS',
      INVALID,
      INVALID,
      INVALID,
      '+ ',
      INVALID,
      '+OK Hello alice, send PASS',
      INVALID,
      '+OK Hello alice, send PASS',
      '+OK alice has 0 messages (0 octets)',
    ]);
    // Each failure waits for the one before it: 0, 100, 100+200, +400, +800 ms; the login after them 1,600 ms more.
    const failures = [2, 3, 4, 6, 8].map((i) => lines[i]!.at - sent);
    [0, 100, 300, 700, 1500].forEach((wait, i) => expect(failures[i]).toBeGreaterThanOrEqual(wait - TIMER_SLACK_MS));
    expect(lines[10]!.at - sent).toBeGreaterThanOrEqual(3100 - TIMER_SLACK_MS);
    client.socket.destroy();
  }, 30_000);

  it('serves parallel connections from one address one at a time', async () => {
    const mailroom = await mailroomForTest({ pop3Auth: { alice: 'secret' } });
    const clients = await Promise.all(Array.from({ length: 5 }, () => TimedLines.open(mailroom.ports.pop3)));
    const sent = performance.now();
    for (const client of clients) client.socket.write('USER alice\r\nPASS wrong\r\n');
    const answers = await Promise.all(clients.map((client) => client.count(3)));
    expect(answers.map((lines) => lines[2]!.text)).toStrictEqual(Array(5).fill(INVALID));
    // One answer per wait: 0, 100, 200, 300 and 400 ms after the first failure.
    const times = answers.map((lines) => lines[2]!.at - sent).sort((a, b) => a - b);
    times.forEach((at, i) => expect(at).toBeGreaterThanOrEqual(i * 100 - TIMER_SLACK_MS));
    const right = await TimedLines.open(mailroom.ports.pop3);
    right.socket.write('USER alice\r\nPASS secret\r\n');
    expect((await right.count(3))[2]!.text).toBe('+OK alice has 0 messages (0 octets)');
    for (const client of [...clients, right]) client.socket.destroy();
  }, 30_000);
});

describe('POP3 garbage', () => {
  it('answers garbage, a huge line, truncated commands and a flood it never reads exactly, within the bound, and stays healthy', async () => {
    const child = await startChildMailroom();
    await sendLarge(child.ports.smtp, 200, '\r\n', 'garbage test');
    const size = Number((await pop3Stat(child.ports.pop3, 'probe')).split(' ')[2]);
    // Random octets with no line break, space or tab: each line is one unknown command.
    const noise = Array.from({ length: 9 }, () => Buffer.from(randomBytes(120).map((b) => ([0x09, 0x0a, 0x0d, 0x20].includes(b) ? 0x41 : b))));
    // CAPA: 6 octets in, 122 out; a million of them outgrow the kernel's socket buffers many times over.
    const flood = 1_000_000;
    const before = child.rss();
    const client = await StalledClient.open(child.ports.pop3);
    for (const garbage of noise) client.write(Buffer.concat([garbage, Buffer.from('\r\n')]));
    client.write('CAPA\r\n');
    client.write(Buffer.alloc(8 * MiB, 'x'));
    client.write('\r\nUSER\r\nAPOP x\r\nUSER u\r\nPASS p\r\nRETR\r\nTOP 1\r\nDELE\r\nLIST x\r\nTOP 1 x\r\nNOOP\r\n');
    client.write('CAPA\r\n'.repeat(flood));
    client.write('QUIT\r\n');
    const growth = (await peakRss(child, FLOOD_WATCH_MS)) - before;
    expect(growth).toBeLessThan(STALLED_RSS_BOUND);
    expect(await pop3Stat(child.ports.pop3, 'other')).toBe(`+OK 1 ${size}`);
    const capa = ['+OK Capability list follows', 'TOP', 'UIDL', 'USER', 'SASL PLAIN', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'EXPIRE NEVER', 'IMPLEMENTATION Mailroom', '.'];
    const result = await client.read([
      GREETING,
      ...repeat(line('-ERR Unknown command'), 9),
      ...capa.map(line),
      line('-ERR Line too long'),
      line('-ERR USER needs one name'),
      line('-ERR APOP needs a name and a digest'),
      line('+OK Hello u, send PASS'),
      line(`+OK u has 1 message (${size} octets)`),
      line('-ERR Invalid message number'),
      line('-ERR TOP needs a message number and a line count'),
      line('-ERR Invalid message number'),
      line('-ERR Invalid message number'),
      line('-ERR TOP needs a message number and a line count'),
      line('+OK '),
      ...repeat(Buffer.concat(capa.map(line)), flood),
      SIGN_OFF,
    ]);
    expect(result.complete).toBe(true);

    // A command cut short by the client's close is dropped; what came before it is answered.
    const halfClosed = connect(child.ports.pop3, '127.0.0.1');
    let answered = '';
    halfClosed.setEncoding('latin1').on('data', (chunk: string) => (answered += chunk));
    halfClosed.end('USER u\r\nPASS p\r\nSTAT\r\nRET');
    await once(halfClosed, 'close');
    expect(answered.split('\r\n').slice(1)).toStrictEqual(['+OK Hello u, send PASS', `+OK u has 1 message (${size} octets)`, `+OK 1 ${size}`, '']);
    expect(await health(child.apiUrl)).toStrictEqual({ status: 'ok' });
    expect(child.alive()).toBe(true);
  }, 120_000);
});
