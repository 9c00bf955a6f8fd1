import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { LiveEvents, Mailroom } from 'mailroom-catcher';
import { MailpitClient } from 'mailpit-api';
import { io, type Socket } from 'socket.io-client';
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket, { type ClientOptions, type RawData } from 'ws';
import { MAX_UNSENT_BYTES } from '../../server/src/api/compat/ws-hub.js';
import { bulkSend } from '../helpers/bulk.js';
import { mailroomForTest } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

/**
 * Mailpit's GET /api/events and MailHog's GET /api/v2/websocket, read by the
 * `ws` package as a browser or mailpit-ws would read them (mailpit-api 2.x has
 * no events API): exact frames for each change of the store, the handshake
 * going through the same access checks as every request, socket.io beside
 * them on the same server, and clients that stop reading closed.
 */

interface Frame {
  text: string;
  binary: boolean;
  /** performance.now() at arrival. */
  at: number;
}

/** Every frame a client receives, taken in order. */
class FrameLog {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | null = null;
  private taken = 0;
  private wake: (() => void) | null = null;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData, binary: boolean) => {
      this.frames.push({ text: bufferOf(data).toString('utf8'), binary, at: performance.now() });
      this.wake?.();
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closed = { code, reason: reason.toString('utf8') };
      this.wake?.();
    });
  }

  /** The next frame not yet taken, as text; a binary frame fails the test. */
  async next(timeoutMs = 5_000): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    while (this.taken >= this.frames.length) {
      if (this.closed) throw new Error(`closed (${this.closed.code} ${this.closed.reason}) while waiting for a frame`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.wake = null;
    }
    const frame = this.frames[this.taken++]!;
    expect(frame.binary).toBe(false);
    return frame.text;
  }

  /** Arrival time of the frame `next` returned last. */
  get lastAt(): number {
    return this.frames[this.taken - 1]!.at;
  }

  /** Takes `count` frames. */
  async take(count: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(await this.next());
    return out;
  }

  /** Nothing more arrives within `ms`. */
  async quiet(ms = 500): Promise<void> {
    await delay(ms);
    expect(this.frames.slice(this.taken).map((f) => f.text)).toStrictEqual([]);
  }
}

const bufferOf = (data: RawData): Buffer => (Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));

const wsUrl = (mailroom: Mailroom, path: string): string => `${mailroom.apiUrl.replace(/^http/, 'ws')}${path}`;

async function connect(mailroom: Mailroom, path: string, options: ClientOptions = {}): Promise<FrameLog> {
  const ws = new WebSocket(wsUrl(mailroom, path), options);
  const log = new FrameLog(ws);
  onTestFinished(() => ws.terminate());
  await once(ws, 'open');
  return log;
}

interface Refusal {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

const readAll = async (response: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

/** The HTTP answer to a handshake that is not accepted; opening fails the test. */
function refused(mailroom: Mailroom, path: string, options: ClientOptions): Promise<Refusal> {
  const ws = new WebSocket(wsUrl(mailroom, path), options);
  return new Promise((resolve, reject) => {
    ws.on('open', () => reject(new Error('the handshake was accepted')));
    ws.on('error', reject);
    ws.on('unexpected-response', (req, response) => {
      readAll(response).then((body) => {
        req.destroy();
        resolve({ status: response.statusCode!, headers: response.headers, body });
      }, reject);
    });
  });
}

/** A plain HTTP request, headers as given. */
function plain(mailroom: Mailroom, method: string, path: string, headers: Record<string, string> = {}): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${mailroom.apiUrl}${path}`, { method, headers }, (response) => {
      readAll(response).then((body) => resolve({ status: response.statusCode!, headers: response.headers, body }), reject);
    });
    req.on('error', reject).end();
  });
}

const basic = (login: string): ClientOptions => ({ headers: { Authorization: `Basic ${Buffer.from(login).toString('base64')}` } });

const mailpitOf = (mailroom: Mailroom): MailpitClient => new MailpitClient(mailroom.apiUrl);

async function versionOf(mailroom: Mailroom): Promise<string> {
  return (await mailpitOf(mailroom).getInfo()).Version;
}

const stats = (total: number, unread: number, version: string): string => JSON.stringify({ Type: 'stats', Data: { Total: total, Unread: unread, Version: version } });

/** One header line of about `bytes`, folded every 64 characters, for frames that size. */
const bigSubject = (i: number, bytes: number): string =>
  `big ${i} ${Array.from({ length: Math.ceil(bytes / 64) }, () => 'x'.repeat(61)).join('\r\n ')}`;

describe('Mailpit GET /api/events', () => {
  it('sends stats 250 ms after a client connects, to every client', async () => {
    const mailroom = await mailroomForTest();
    const version = await versionOf(mailroom);
    const opened = performance.now();
    const first = await connect(mailroom, '/api/events');
    expect(await first.next()).toBe(stats(0, 0, version));
    expect(first.lastAt - opened).toBeGreaterThanOrEqual(240);

    const second = await connect(mailroom, '/api/events');
    expect(await second.next()).toBe(stats(0, 0, version));
    expect(await first.next()).toBe(stats(0, 0, version));
    await first.quiet();
  });

  it("sends new with the message's summary as listed, lists [] for null, Read false, Tags sorted as Go sorts; then stats", async () => {
    const mailroom = await mailroomForTest();
    const version = await versionOf(mailroom);
    const events = await connect(mailroom, '/api/events');
    expect(await events.next()).toBe(stats(0, 0, version));

    const id = await send(mailroom, {
      from: '"Sender Name" <sender@example.test>',
      to: 'user@example.test',
      subject: 'Websocket news',
      text: 'Hello there, live.',
      headers: { 'X-Tags': 'b-tag, C-tag' },
    });
    const frame = await events.next();
    const newAt = events.lastAt;
    const listed = (await mailpitOf(mailroom).listMessages()).messages[0]!;
    expect(listed.ID).toBe(id);
    // The list orders tags ignoring case; Mailpit's new event has them as sort.Strings leaves them.
    expect(listed.Tags).toStrictEqual(['b-tag', 'C-tag']);
    expect([listed.Cc, listed.Bcc]).toStrictEqual([null, null]);
    const data = { ...listed, Read: false, To: listed.To ?? [], Cc: [], Bcc: [], ReplyTo: listed.ReplyTo ?? [], Tags: ['C-tag', 'b-tag'] };
    expect(frame).toBe(JSON.stringify({ Type: 'new', Data: data }));
    expect(frame).toContain('"Cc":[],"Bcc":[],"ReplyTo":[]');

    expect(await events.next()).toBe(stats(1, 1, version));
    expect(events.lastAt - newAt).toBeGreaterThanOrEqual(200);
    await events.quiet();
  });

  it('sends update {ID, Read} when the read state changes, and stats; nothing when it does not', async () => {
    const mailroom = await mailroomForTest();
    const version = await versionOf(mailroom);
    const id = await send(mailroom, { subject: 'to be read' });
    const events = await connect(mailroom, '/api/events');
    expect(await events.next()).toBe(stats(1, 1, version));
    const mailpit = mailpitOf(mailroom);

    // Fetching a message marks it read, as in Mailpit.
    await mailpit.getMessageSummary(id);
    expect(await events.next()).toBe(JSON.stringify({ Type: 'update', Data: { ID: id, Read: true } }));
    expect(await events.next()).toBe(stats(1, 0, version));

    await mailpit.setReadStatus({ IDs: [id], Read: true });
    await events.quiet();

    await mailpit.setReadStatus({ IDs: [id], Read: false });
    expect(await events.next()).toBe(JSON.stringify({ Type: 'update', Data: { ID: id, Read: false } }));
    expect(await events.next()).toBe(stats(1, 1, version));
    await events.quiet();
  });

  it('sends update {ID, Tags} when tags change, in the order set, without stats', async () => {
    const mailroom = await mailroomForTest();
    const version = await versionOf(mailroom);
    const id = await send(mailroom, { subject: 'to be tagged' });
    const events = await connect(mailroom, '/api/events');
    expect(await events.next()).toBe(stats(1, 1, version));
    const mailpit = mailpitOf(mailroom);

    await mailpit.setTags({ IDs: [id], Tags: ['Tag1', 'Another'] });
    expect(await events.next()).toBe(JSON.stringify({ Type: 'update', Data: { ID: id, Tags: ['Tag1', 'Another'] } }));
    await mailpit.setTags({ IDs: [id], Tags: [] });
    expect(await events.next()).toBe(JSON.stringify({ Type: 'update', Data: { ID: id, Tags: [] } }));
    await events.quiet();
  });

  it('sends one stats frame for many changes at once: a search marked read, two deleted', async () => {
    const mailroom = await mailroomForTest();
    const version = await versionOf(mailroom);
    const ids = [await send(mailroom, { subject: 'one' }), await send(mailroom, { subject: 'two' }), await send(mailroom, { subject: 'three' })];
    const events = await connect(mailroom, '/api/events');
    expect(await events.next()).toBe(stats(3, 3, version));
    const mailpit = mailpitOf(mailroom);

    // Mailpit marks a search's matches one by one (MarkRead), newest first.
    await mailpit.setReadStatus({ Read: true, Search: 'from:app@example.com' });
    expect(await events.take(3)).toStrictEqual([...ids].reverse().map((id) => JSON.stringify({ Type: 'update', Data: { ID: id, Read: true } })));
    expect(await events.next()).toBe(stats(3, 0, version));
    await events.quiet();

    // Mailpit reads the IDs back from its database before deleting, in an order of its own.
    await mailpit.deleteMessages({ IDs: [ids[2]!, ids[0]!] });
    expect((await events.take(2)).sort()).toStrictEqual([ids[0], ids[2]].map((id) => JSON.stringify({ Type: 'delete', Data: { ID: id } })).sort());
    expect(await events.next()).toBe(stats(1, 0, version));
    await events.quiet();
  });

  it('sends truncate when every message is deleted', async () => {
    const mailroom = await mailroomForTest();
    const version = await versionOf(mailroom);
    await send(mailroom, { subject: 'doomed' });
    const events = await connect(mailroom, '/api/events');
    expect(await events.next()).toBe(stats(1, 1, version));

    await mailpitOf(mailroom).deleteMessages();
    expect(await events.next()).toBe('{"Type":"truncate","Data":null}');
    expect(await events.next()).toBe(stats(0, 0, version));
    await events.quiet();
  });

  it('sends a delete per message for 200 deleted at once, and one prune for 201', async () => {
    const mailroom = await mailroomForTest();
    const version = await versionOf(mailroom);
    await bulkSend(mailroom.ports.smtp, 401, (i) => (i % 2 === 0 ? `pruned ${i}` : `kept ${i}`));
    const mailpit = mailpitOf(mailroom);
    const kept = (await mailpit.searchMessages({ query: 'subject:kept', limit: 0 })).messages_count;
    expect(kept).toBe(200);
    const events = await connect(mailroom, '/api/events');
    expect(await events.next()).toBe(stats(401, 401, version));

    await mailpit.deleteMessagesBySearch({ query: 'subject:kept' });
    const deletes = await events.take(200);
    expect(new Set(deletes.map((text) => (JSON.parse(text) as { Type: string }).Type))).toStrictEqual(new Set(['delete']));
    expect(new Set(deletes).size).toBe(200);
    expect(await events.next()).toBe(stats(201, 201, version));

    await mailpit.deleteMessagesBySearch({ query: 'subject:pruned' });
    expect(await events.next()).toBe('{"Type":"prune","Data":null}');
    expect(await events.next()).toBe(stats(0, 0, version));
    await events.quiet();
  });

  it('answers a request that is not a handshake as gorilla does: 400 Bad Request', async () => {
    const mailroom = await mailroomForTest();
    for (const method of ['GET', 'HEAD']) {
      const answer = await plain(mailroom, method, '/api/events');
      expect([answer.status, answer.headers['content-type'], answer.headers['sec-websocket-version'], answer.body]).toStrictEqual([
        400,
        'text/plain; charset=utf-8',
        '13',
        method === 'GET' ? 'Bad Request\n' : '',
      ]);
    }
  });
});

describe('MailHog GET /api/v2/websocket', () => {
  it('sends each new message as GET /api/v1/messages/{id} gives it, with a newline, and nothing else', async () => {
    const mailroom = await mailroomForTest();
    const events = await connect(mailroom, '/api/v2/websocket');
    await events.quiet(400);

    const id = await send(mailroom, {
      subject: 'MailHog <live> & well',
      text: 'Text part.',
      attachments: [{ filename: 'notes.txt', content: 'some notes\n' }],
    });
    const frame = await events.next();
    const stored = await plain(mailroom, 'GET', `/api/v1/messages/${encodeURIComponent(id)}`);
    expect(stored.status).toBe(200);
    expect(frame).toBe(`${stored.body}\n`);
    expect((JSON.parse(frame) as { ID: string; MIME: { Parts: unknown[] } | null }).MIME?.Parts.length).toBeGreaterThan(1);

    // Reads and deletes are not MailHog events.
    await mailpitOf(mailroom).getMessageSummary(id);
    expect((await plain(mailroom, 'DELETE', `/api/v1/messages/${encodeURIComponent(id)}`)).status).toBe(200);
    await events.quiet();
  });

  it('answers a GET that is not a handshake with 400 Bad Request, and other methods with 404', async () => {
    const mailroom = await mailroomForTest();
    const answer = await plain(mailroom, 'GET', '/api/v2/websocket');
    expect([answer.status, answer.headers['content-type'], answer.headers['sec-websocket-version'], answer.body]).toStrictEqual([400, 'text/plain; charset=utf-8', '13', 'Bad Request\n']);
    expect((await plain(mailroom, 'HEAD', '/api/v2/websocket')).status).toBe(404);
    expect((await plain(mailroom, 'POST', '/api/v2/websocket')).status).toBe(404);
  });
});

describe('both streams', () => {
  it('are in the OpenAPI document under their tags', async () => {
    const mailroom = await mailroomForTest();
    const openapi = JSON.parse((await plain(mailroom, 'GET', '/api/openapi.json')).body) as { paths: Record<string, Record<string, { tags: string[] }>> };
    expect(openapi.paths['/api/events']?.get?.tags).toStrictEqual(['mailpit']);
    expect(openapi.paths['/api/v2/websocket']?.get?.tags).toStrictEqual(['mailhog']);
  });
});

describe('handshakes pass the access checks of every request', () => {
  it("refuses a hostile page's Origin and a rebound Host exactly as any API request, before upgrading", async () => {
    const mailroom = await mailroomForTest();
    const hostile = { origin: 'http://evil.example' };
    const asRequest = await plain(mailroom, 'GET', '/api/v1/messages', hostile);
    expect(asRequest.status).toBe(403);
    expect(JSON.parse(asRequest.body)).toMatchObject({ error: 'forbidden_origin' });
    const rebound = { host: `rebound.example:${mailroom.ports.http}` };
    const reboundRequest = await plain(mailroom, 'GET', '/api/v1/messages', rebound);
    expect(JSON.parse(reboundRequest.body)).toMatchObject({ error: 'forbidden_host' });

    for (const path of ['/api/events', '/api/v2/websocket', '/api/v1/messages']) {
      const byOrigin = await refused(mailroom, path, { origin: hostile.origin });
      expect([byOrigin.status, byOrigin.headers['content-type'], byOrigin.body]).toStrictEqual([403, asRequest.headers['content-type'], asRequest.body]);
      const byHost = await refused(mailroom, path, { headers: { Host: rebound.host } });
      expect([byHost.status, byHost.body]).toStrictEqual([403, reboundRequest.body]);
    }
    // Mailroom's own origin is let in, as Mailpit's web UI is.
    const own = await connect(mailroom, '/api/events', { origin: mailroom.apiUrl });
    expect(JSON.parse(await own.next())).toMatchObject({ Type: 'stats' });
  });

  it('lets an --api-cors origin in', async () => {
    const mailroom = await mailroomForTest({ apiCors: ['http://app.test:3000'] });
    const events = await connect(mailroom, '/api/events', { origin: 'http://app.test:3000' });
    expect(JSON.parse(await events.next())).toMatchObject({ Type: 'stats' });
  });

  it('asks for credentials when the API needs them, and streams once they are given', async () => {
    const mailroom = await mailroomForTest({ uiAuth: { alice: 'secret' } });
    for (const path of ['/api/events', '/api/v2/websocket']) {
      const none = await refused(mailroom, path, {});
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toMatch(/^Basic /);
      expect(JSON.parse(none.body)).toMatchObject({ error: 'unauthorized' });
      expect((await refused(mailroom, path, basic('alice:wrong'))).status).toBe(401);
    }
    const events = await connect(mailroom, '/api/events', basic('alice:secret'));
    expect(JSON.parse(await events.next())).toMatchObject({ Type: 'stats', Data: { Total: 0 } });
  });

  it('answers a handshake the login throttle holds for over a second, which socket.io would otherwise cut', async () => {
    const mailroom = await mailroomForTest({ uiAuth: { alice: 'secret' } });
    // Each failure from this address doubles the next wait: 100, 200, 400, 800 ms, then 1.6 s.
    for (let i = 0; i < 5; i++) expect((await refused(mailroom, '/api/events', basic('alice:wrong'))).status).toBe(401);
    const started = Date.now();
    const events = await connect(mailroom, '/api/events', basic('alice:secret'));
    expect(JSON.parse(await events.next())).toMatchObject({ Type: 'stats', Data: { Total: 0 } });
    expect(Date.now() - started).toBeGreaterThan(1000);
  });
});

describe('beside socket.io on the same server', () => {
  it('answers an Upgrade to anything but a WebSocket (curl --http2 asks for h2c) as plain HTTP/1.1, checks included', async () => {
    const mailroom = await mailroomForTest();
    await send(mailroom, { subject: 'over h2c' });
    const curl = async (...args: string[]): Promise<string> =>
      (await promisify(execFile)('curl', ['-s', '--http2', '-i', ...args], { encoding: 'utf8', timeout: 10_000 })).stdout;
    const answer = await curl(`${mailroom.apiUrl}/api/messages`);
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ total: 1, messages: [{ subject: 'over h2c' }] });
    const hostile = await curl('-H', 'Origin: https://evil.test', `${mailroom.apiUrl}/api/messages`);
    expect(hostile).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(JSON.parse(hostile.slice(hostile.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: 'forbidden_origin' });
    const post = await curl('-X', 'POST', '-H', 'content-type: application/json', '--data', '{}', `${mailroom.apiUrl}/api/messages`);
    expect(post).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(JSON.parse(post.slice(post.indexOf('\r\n\r\n') + 4))).toStrictEqual({ error: 'bad_request', message: 'Upgrade to h2c is not supported on a request with a body' });
  });

  it('delivers a new message to socket.io, Mailpit and MailHog clients connected at once', async () => {
    const mailroom = await mailroomForTest();
    const socket: Socket<LiveEvents> = io(mailroom.apiUrl, { transports: ['websocket'], reconnection: false });
    onTestFinished(() => void socket.close());
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    const mailpit = await connect(mailroom, '/api/events');
    const mailhog = await connect(mailroom, '/api/v2/websocket');
    const live = new Promise<string>((resolve) => socket.once('message:new', (summary) => resolve(summary.id)));

    const id = await send(mailroom, { subject: 'everyone hears' });
    expect(await live).toBe(id);
    const frames = [await mailpit.next(), await mailpit.next()].map((text) => JSON.parse(text) as { Type: string; Data: { ID?: string } });
    expect(frames.find((f) => f.Type === 'new')?.Data.ID).toBe(id);
    expect((JSON.parse(await mailhog.next()) as { Raw: { Data: string } }).Raw.Data).toContain('Subject: everyone hears');
    expect(socket.connected).toBe(true);
  });
});

describe('a client that stops reading', () => {
  /**
   * More than the bound plus all the kernel may buffer on loopback (send and
   * receive buffers of tens of MiB), so the server has to hold the rest.
   */
  const FLOOD_BYTES = 2 * MAX_UNSENT_BYTES + 48 * 1024 * 1024;

  /** Floods `path` with big frames while one client reads and one does not; the stalled one ends with 1008. */
  async function flood(path: string, frameBytesPerSubjectByte: number, isNew: (text: string) => boolean): Promise<void> {
    const mailroom = await mailroomForTest();
    const reader = await connect(mailroom, path);
    const stalled = await connect(mailroom, path);
    stalled.ws.pause();
    const subjectBytes = 1024 * 1024;
    const count = Math.ceil(FLOOD_BYTES / (subjectBytes * frameBytesPerSubjectByte));
    await bulkSend(mailroom.ports.smtp, count, (i) => bigSubject(i, subjectBytes), 4);

    const deadline = performance.now() + 20_000;
    while (reader.frames.filter((f) => isNew(f.text)).length < count) {
      expect(performance.now()).toBeLessThan(deadline);
      await delay(50);
    }
    expect(reader.closed).toBeNull();

    stalled.ws.resume();
    while (stalled.closed === null) {
      expect(performance.now()).toBeLessThan(deadline + 10_000);
      await delay(50);
    }
    expect(stalled.closed).toStrictEqual({ code: 1008, reason: 'Client too slow: too many events unsent' });
    const got = stalled.frames.filter((f) => isNew(f.text)).length;
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThan(count);
    // Every frame it did get is whole.
    for (const frame of stalled.frames) expect(() => JSON.parse(frame.text)).not.toThrow();

    // The server goes on serving everyone else.
    const fresh = await connect(mailroom, path);
    const id = await send(mailroom, { subject: 'after the flood' });
    let text = await fresh.next(10_000);
    while (!isNew(text)) text = await fresh.next(10_000);
    expect(text).toContain(id);
  }

  it('is closed with 1008 on Mailpit /api/events once its unsent frames pass the bound; readers get every frame', async () => {
    await flood('/api/events', 1, (text) => text.startsWith('{"Type":"new"'));
  }, 90_000);

  it('is closed with 1008 on MailHog /api/v2/websocket likewise', async () => {
    // The subject is in the frame twice: Content.Headers and Raw.Data.
    await flood('/api/v2/websocket', 2, () => true);
  }, 90_000);
});
