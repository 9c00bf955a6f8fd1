import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bulkSend } from '../helpers/bulk.js';
import { startChildMailroom, type ChildMailroom } from '../helpers/child-mailroom.js';
import { ImapPipe } from '../helpers/imap-pipe.js';
import { ImapWire } from '../helpers/imap-wire.js';

/**
 * Clients that pipeline commands and never read the replies, against
 * Mailroom in a process of its own so that its memory can be measured.
 *
 * The bound: a session stops taking commands once 1 MiB of its output is
 * unsent (OUTPUT_HIGH_WATER), and the reader pauses the socket past 1 MiB of
 * queued input, so one such client pins about 2 MiB, plus what one command
 * or one message writes past the mark. 32 MiB leaves room for the garbage
 * of running commands that V8 has not collected yet, and is far below what
 * the same pipelines queue without the bound (hundreds of MB, or the
 * process's death).
 */
const RSS_BOUND = 32 * 1024 * 1024;
const MESSAGES = 2000;
/** Long enough for an unbounded server to run well past the bound (it makes hundreds of MB a second). */
const SETTLE_MS = 2500;

const child = await startChildMailroom();
await bulkSend(child.ports.smtp, MESSAGES, (i) => `bulk ${i}`);
/** Sessions idle for 2 s are logged out. */
const quick = await startChildMailroom(['--imap-idle', '2']);

async function loggedIn(user: string): Promise<ImapPipe> {
  const pipe = await ImapPipe.open(child.ports.imap);
  await pipe.command('l', `LOGIN ${user} pw`);
  return pipe;
}

/** The highest RSS growth over `baseline` seen while waiting. */
async function peakGrowth(server: ChildMailroom, baseline: number, ms: number): Promise<number> {
  let peak = 0;
  const end = Date.now() + ms;
  while (Date.now() < end && server.alive()) {
    peak = Math.max(peak, server.rss() - baseline);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return peak;
}

/** Another client's IMAP session and an API call, while the pipelining client is stuck; resolves with the time they took. */
async function othersServed(server: ChildMailroom): Promise<number> {
  const started = Date.now();
  const wire = await ImapWire.open(server.ports.imap);
  expect(await wire.command('a', 'LOGIN other pw')).toHaveLength(1);
  expect(await wire.command('b', 'EXAMINE INBOX')).toContainEqual(expect.stringMatching(/^\* \d+ EXISTS$/));
  expect(await wire.command('c', `FETCH ${MESSAGES} (BODY.PEEK[HEADER.FIELDS (SUBJECT)])`)).toContainEqual(expect.stringMatching(/^Subject: bulk \d+$/));
  await wire.close();
  const health = await fetch(`${server.apiUrl}/api/health`);
  expect(health.status).toBe(200);
  return Date.now() - started;
}

/** Each pipelined command's reply: the untagged part the reference command got, then its own tagged OK. */
function* replies(untagged: Buffer, count: number, name: string): Generator<Buffer> {
  for (let i = 0; i < count; i++) {
    yield untagged;
    yield Buffer.from(`t${i} OK ${name} completed\r\n`, 'latin1');
  }
}

interface Case {
  label: string;
  /** The command without its tag; sent once to learn the reply, then `count` times pipelined. */
  command: string;
  name: string;
  count: number;
  prepare?: (pipe: ImapPipe) => Promise<void>;
}

/**
 * Without the bound these queue their replies whole: 210 MB for STORE
 * (2,500 × 84 KB), 140 MB for SORT, 45 MB in a million small writes for LIST
 * (100 folders), and 300,000 small writes for STATUS, each several times the bound. FETCH already waited for the socket
 * within a command; it is here to keep it so.
 */
const CASES: Case[] = [
  { label: 'STORE without .SILENT', command: 'STORE 1:* +FLAGS (\\Flagged)', name: 'STORE', count: 2_500 },
  { label: 'SORT', command: 'SORT (REVERSE ARRIVAL) UTF-8 ALL', name: 'SORT', count: 14_000 },
  {
    label: 'LIST',
    command: 'LIST "" *',
    name: 'LIST',
    count: 10_000,
    prepare: async (pipe) => {
      for (let i = 0; i < 100; i++) pipe.write(`c${i} CREATE Folder${String(i).padStart(3, '0')}\r\n`);
      await pipe.reply('c99');
    },
  },
  { label: 'STATUS', command: 'STATUS Drafts (MESSAGES UIDNEXT)', name: 'STATUS', count: 150_000 },
  { label: 'FETCH', command: 'FETCH 1:* (FLAGS ENVELOPE)', name: 'FETCH', count: 200 },
];

describe('IMAP clients that never read', () => {
  for (const [n, c] of CASES.entries()) {
    it(`keep memory bounded while pipelining ${c.label}, and then get every reply in order`, async () => {
      const pipe = await loggedIn(`pipe${n}`);
      await pipe.command('s', 'SELECT INBOX');
      await c.prepare?.(pipe);
      const { command } = c;
      const reference = await pipe.command('r', command);
      const tagged = Buffer.from(`r OK ${c.name} completed\r\n`, 'latin1');
      expect(reference.subarray(-tagged.length)).toStrictEqual(tagged);
      const untagged = reference.subarray(0, reference.length - tagged.length);

      const baseline = child.rss();
      pipe.hold();
      const pipeline: string[] = [];
      for (let i = 0; i < c.count; i++) pipeline.push(`t${i} ${command}\r\n`);
      pipe.write(pipeline.join(''));
      const growth = await peakGrowth(child, baseline, SETTLE_MS);
      expect(child.alive()).toBe(true);
      expect(growth).toBeLessThan(RSS_BOUND);
      const servedIn = await othersServed(child);
      expect(servedIn).toBeLessThan(2000);
      expect(child.rss() - baseline).toBeLessThan(RSS_BOUND);

      await pipe.expectStream(replies(untagged, c.count, c.name), 240_000);
      expect(await pipe.command('z', 'LOGOUT')).toStrictEqual(Buffer.from('* BYE Mailroom IMAP server logging out\r\nz OK LOGOUT completed\r\n'));
    }, 300_000);
  }
});

/** A message of about 5 MB, CRLF throughout, so BODY[] is served as the stored bytes. */
function bigMessage(): Buffer {
  const line = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/0123456789ab\r\n';
  const body = line.repeat(Math.ceil((5 * 1000 * 1000) / line.length));
  return Buffer.from(`From: big@example.test\r\nTo: inbox@example.test\r\nSubject: big\r\n\r\n${body}`, 'latin1');
}

/** Clients that each pipeline FETCH BODY[] of the large message and never read. */
const BIG_CLIENTS = 16;
/**
 * A FETCH of BODY[] sends the literal as a view of the stored bytes, so a
 * client stuck on one pins no copy of the message. A copy per stuck FETCH
 * would add 5 MB per client, 80 MB here.
 */
const NO_COPY_BOUND = 24 * 1024 * 1024;

describe('BODY[] of a large message to clients that never read', () => {
  it('pins no copy of the message, and then streams every reply in order', async () => {
    const first = await loggedIn('big');
    const raw = bigMessage();
    first.write(Buffer.concat([Buffer.from(`a APPEND INBOX (\\Seen) {${raw.length}+}\r\n`), raw, Buffer.from('\r\n')]));
    expect((await first.reply('a')).toString('latin1')).toMatch(/^a OK \[APPENDUID \d+ \d+\] Append completed\r\n$/);
    const seq = MESSAGES + 1;
    const pipes = [first];
    for (let i = 1; i < BIG_CLIENTS; i++) pipes.push(await loggedIn(`big${i}`));
    for (const pipe of pipes) await pipe.command('s', 'EXAMINE INBOX');

    const count = 200;
    const baseline = child.rss();
    for (const [n, pipe] of pipes.entries()) {
      pipe.hold();
      for (let i = 0; i < (n === 0 ? count : 2); i++) pipe.write(`t${i} FETCH ${seq} BODY[]\r\n`);
    }
    const growth = await peakGrowth(child, baseline, SETTLE_MS);
    expect(child.alive()).toBe(true);
    expect(growth).toBeLessThan(NO_COPY_BOUND);
    const servedIn = await othersServed(child);
    expect(servedIn).toBeLessThan(2000);
    expect(child.rss() - baseline).toBeLessThan(NO_COPY_BOUND);

    for (const pipe of pipes.slice(1)) pipe.destroy();
    const untagged = Buffer.concat([Buffer.from(`* ${seq} FETCH (BODY[] {${raw.length}}\r\n`, 'latin1'), raw, Buffer.from(')\r\n')]);
    await first.expectStream(replies(untagged, count, 'FETCH'), 240_000);
    await first.command('z', 'LOGOUT');
  }, 300_000);
});

/** TCP states of /proc/net/tcp (include/net/tcp_states.h). */
const ESTABLISHED = '01';

/** The kernel's state of a local TCP socket, by its two ports; null once it is gone (reset). */
function tcpState(localPort: number, remotePort: number): string | null {
  const hex = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, remote, state] = line.trim().split(/\s+/);
      if (local?.endsWith(`:${hex(localPort)}`) && remote?.endsWith(`:${hex(remotePort)}`)) return state!;
    }
  }
  return null;
}

describe('the idle timeout', () => {
  it('drops a client that never reads its replies', async () => {
    await bulkSend(quick.ports.smtp, 200, (i) => `idle ${i}`);
    const pipe = await ImapPipe.open(quick.ports.imap);
    await pipe.command('l', 'LOGIN idler pw');
    await pipe.command('s', 'SELECT INBOX');
    pipe.hold();
    const started = Date.now();
    for (let i = 0; i < 1000; i++) pipe.write(`t${i} FETCH 1:* (FLAGS ENVELOPE)\r\n`);
    const ports = [pipe.socket.localPort!, quick.ports.imap] as const;
    expect(tcpState(...ports)).toBe(ESTABLISHED);
    // Its writes are stuck, so the session sees no activity and, 2 s on, resets the connection.
    while (tcpState(...ports) === ESTABLISHED && Date.now() - started < 10_000) await new Promise((resolve) => setTimeout(resolve, 100));
    const elapsed = Date.now() - started;
    expect(tcpState(...ports)).toBeNull();
    expect(elapsed).toBeGreaterThanOrEqual(2000);
    expect(elapsed).toBeLessThan(6000);
    pipe.destroy();
    expect(quick.alive()).toBe(true);
  }, 60_000);
});
