import { describe, expect, it } from 'vitest';
import { startChildMailroom } from '../helpers/child-mailroom.js';
import { api, mailroomForTest } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';
import { MiB, StalledClient, crlf, health, peakRss, pop3Stat, rawOf, repeatPair, sendLarge } from '../helpers/stalled-client.js';
import { chromiumPost } from '../helpers/chromium-post.js';
import { TimedLines } from '../helpers/timed-lines.js';

const GREETING = /^\+ POP2 \S+ Mailroom server ready$/;
const SIGN_OFF = /^\+ POP2 \S+ signing off$/;
const line = (text: string): Buffer => Buffer.from(`${text}\r\n`, 'latin1');

/** As for POP3 (pop3-abuse.test.ts): the output bound, a piece, a chunk of commands, and V8 and allocator slack. */
const STALLED_RSS_BOUND = 64 * MiB;



describe('POP2 and a client that does not read', () => {
  it('holds about the output bound for 100 pipelined RETR of a 5 MB bare-LF message, serves others, then sends every octet in order', async () => {
    const child = await startChildMailroom(['--pop2-port', '0']);
    const id = await sendLarge(child.ports.smtp, 5 * MiB, '\n');
    const message = crlf(await rawOf(child.apiUrl, id));
    const announce = line(`=${message.length}`);
    const warm = await StalledClient.open(child.ports.pop2!);
    warm.write('HELO warm pw\r\nREAD 1\r\nRETR\r\nACKS\r\nQUIT\r\n');
    expect(await warm.read([GREETING, line('#1'), announce, message, line('=0'), SIGN_OFF])).toMatchObject({ complete: true });

    const before = child.rss();
    const client = await StalledClient.open(child.ports.pop2!);
    client.write(`HELO stall pw\r\nREAD 1\r\n${'RETR\r\nNACK\r\n'.repeat(30)}QUIT\r\n`);
    expect((await peakRss(child, 2500)) - before).toBeLessThan(STALLED_RSS_BOUND);
    expect(await pop3Stat(child.ports.pop3, 'other')).toBe(`+OK 1 ${message.length}`);
    expect(await health(child.apiUrl)).toStrictEqual({ status: 'ok' });
    const result = await client.read([GREETING, line('#1'), announce, ...repeatPair(message, announce, 30), SIGN_OFF]);
    expect(result.complete).toBe(true);
    expect(result.received).toBeGreaterThan(30 * message.length);
  }, 120_000);

  it('is dropped by the idle timeout while its octets wait, and its maildrop is released', async () => {
    const child = await startChildMailroom(['--pop2-port', '0', '--pop3-idle', '1']);
    const id = await sendLarge(child.ports.smtp, 5 * MiB, '\r\n');
    const message = crlf(await rawOf(child.apiUrl, id));
    const announce = line(`=${message.length}`);
    const client = await StalledClient.open(child.ports.pop2!);
    client.write(`HELO idle pw\r\nREAD 1\r\n${'RETR\r\nNACK\r\n'.repeat(50)}QUIT\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await pop3Stat(child.ports.pop3, 'idle')).toBe(`+OK 1 ${message.length}`);
    const result = await client.read([GREETING, line('#1'), announce, ...repeatPair(message, announce, 50), SIGN_OFF]);
    expect(result.complete).toBe(false);
    expect(result.received).toBeLessThan(32 * MiB);
    expect(child.alive()).toBe(true);
  }, 60_000);
});



const ATTACK = 'HELO x y\r\nREAD 1\r\nRETR\r\nACKD\r\nQUIT\r\n';
const REFUSED = '- HTTP request refused: this is a POP2 server';

describe('POP2 and HTTP requests sent to its port', () => {
  it('answers one "-" and closes at a request line or a header line before HELO; nothing is deleted', async () => {
    const mailroom = await mailroomForTest({ pop2Port: 0 });
    const id = await send(mailroom, { subject: 'keep me' });
    const browser = await TimedLines.open(mailroom.ports.pop2!);
    browser.socket.write(chromiumPost(mailroom.ports.pop2!, ATTACK));
    const answered = await browser.closing();
    expect(answered[0]).toMatch(GREETING);
    expect(answered.slice(1)).toStrictEqual([REFUSED]);

    const header = await TimedLines.open(mailroom.ports.pop2!);
    header.socket.write(`FOLD INBOX\r\nHost: 127.0.0.1:${mailroom.ports.pop2}\r\n${ATTACK}`);
    expect((await header.closing()).slice(1)).toStrictEqual(['- Not logged in yet', REFUSED]);
    expect((await api(mailroom, `/api/messages/${id}`)).status).toBe(200);
  });
});

describe('POP2 login throttling', () => {
  it('makes wrong HELO passwords wait 100, 200, 400 and 800 ms in turn; a right one still logs in', async () => {
    const mailroom = await mailroomForTest({ pop2Port: 0, pop3Auth: { alice: 'secret' } });
    const client = await TimedLines.open(mailroom.ports.pop2!);
    await client.count(1);
    const sent = performance.now();
    client.socket.write(`${'HELO alice wrong\r\n'.repeat(5)}HELO alice secret\r\n`);
    expect((await client.count(7)).map((l) => l.text)).toStrictEqual([expect.stringMatching(GREETING), ...Array(5).fill('- Invalid user name or password'), '#0']);
    // Times from when the commands were sent are lower bounds whatever delays the replies (pop3-abuse.test.ts).
    const times = client.lines.slice(1, 7).map((l) => l.at - sent);
    [0, 100, 300, 700, 1500, 3100].forEach((wait, i) => expect(times[i]).toBeGreaterThanOrEqual(wait - 5));
    client.socket.destroy();
  }, 30_000);
});

describe('POP2 and messages gone from the store since HELO', () => {
  it('announces =0 for them, and closes rather than send other octets after READ announced a length', async () => {
    const mailroom = await mailroomForTest({ pop2Port: 0, maxMessages: 2 });
    await send(mailroom, { subject: 'one' });
    await send(mailroom, { subject: 'two' });
    const announced = await TimedLines.open(mailroom.ports.pop2!);
    announced.socket.write('HELO ann pw\r\nREAD 1\r\n');
    const [, count, length] = (await announced.count(3)).map((l) => l.text);
    expect([count, length]).toStrictEqual(['#2', expect.stringMatching(/^=[1-9]\d*$/)]);
    const later = await TimedLines.open(mailroom.ports.pop2!);
    later.socket.write('HELO bob pw\r\n');
    expect((await later.count(2))[1]!.text).toBe('#2');

    await send(mailroom, { subject: 'three' });
    await send(mailroom, { subject: 'four' });
    announced.socket.write('RETR\r\nREAD 2\r\n');
    expect((await announced.closing()).slice(3)).toStrictEqual(['- Message 1 is gone: deleted or evicted since READ']);

    later.socket.write('READ 1\r\nREAD 2\r\nRETR\r\nFOLD INBOX\r\nREAD 1\r\nQUIT\r\n');
    const lines = await later.closing();
    expect(lines.slice(2, -1)).toStrictEqual(['=0', '=0', '- No message to retrieve', '#2', expect.stringMatching(/^=[1-9]\d*$/)]);
    expect(lines.at(-1)).toMatch(SIGN_OFF);
  });
});
