import { request } from 'node:http';
import { io as ioClient, type Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import type { Mailroom } from 'mailroom-catcher';
import { mailroomForTest, useMailroom } from '../helpers/mailroom.js';
import { send as sendMail } from '../helpers/send.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with exactly these headers (fetch would not let a test set Host or Sec-Fetch-*). */
function raw(mailroom: Mailroom, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: mailroom.ports.http, path, method, headers: { host: `127.0.0.1:${mailroom.ports.http}`, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const APP_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline' https: http:; img-src 'self' data: blob: https: http:; " +
  "font-src 'self' data: https: http:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

describe('hosts (DNS rebinding)', async () => {
  const mailroom = await useMailroom();
  const port = mailroom.ports.http;

  it('refuses a Host name it does not know, on the API, the page and socket.io, with a JSON error', async () => {
    for (const path of ['/api/messages', '/', '/socket.io/?EIO=4&transport=polling']) {
      const answer = await raw(mailroom, path, { host: `rebind.evil.test:${port}` });
      expect(answer.status, path).toBe(403);
      if (path.startsWith('/socket.io')) continue;
      expect(JSON.parse(answer.body)).toStrictEqual({
        error: 'forbidden_host',
        message: 'Host "rebind.evil.test" is not allowed; start Mailroom with --allowed-hosts rebind.evil.test to answer it',
      });
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('answers loopback names, IP addresses and requests without Host', async () => {
    for (const host of [`localhost:${port}`, `app.localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, '192.0.2.7', `[2001:db8::1]:${port}`, `LOCALHOST.:${port}`]) {
      expect((await raw(mailroom, '/api/messages', { host })).status, host).toBe(200);
    }
  });

  it('answers the names of --allowed-hosts, with .domain for subdomains, and any with *', async () => {
    const named = await mailroomForTest({ allowedHosts: ['mailroom.internal', '.example.test'] });
    const answers: Record<string, number> = {};
    for (const host of ['mailroom.internal', 'example.test', 'a.b.example.test', 'badexample.test', 'mailroom.internal.evil.test']) {
      answers[host] = (await raw(named, '/api/messages', { host })).status;
    }
    expect(answers).toStrictEqual({
      'mailroom.internal': 200,
      'example.test': 200,
      'a.b.example.test': 200,
      'badexample.test': 403,
      'mailroom.internal.evil.test': 403,
    });
    const any = await mailroomForTest({ allowedHosts: '*' });
    expect((await raw(any, '/api/messages', { host: 'anything.evil.test' })).status).toBe(200);
  });
});

describe('origins', async () => {
  const mailroom = await useMailroom();
  const own = `http://127.0.0.1:${mailroom.ports.http}`;
  await sendMail(mailroom, { to: 'victim@example.test', subject: 'Reset your password', text: 'https://app.test/reset?token=s3cret' });

  it('refuses requests that carry another origin, reading or deleting, and keeps the mail', async () => {
    const read = await raw(mailroom, '/api/messages', { origin: 'http://evil.test' });
    expect(read.status).toBe(403);
    expect(JSON.parse(read.body)).toStrictEqual({
      error: 'forbidden_origin',
      message: 'Origin http://evil.test may not call this server; start Mailroom with --api-cors http://evil.test to allow it',
    });
    expect(read.headers['access-control-allow-origin']).toBeUndefined();
    expect((await raw(mailroom, '/api/messages', { origin: 'http://evil.test' }, 'DELETE')).status).toBe(403);
    expect((await raw(mailroom, '/api/messages', { origin: 'null' }, 'DELETE')).status).toBe(403);
    expect((await raw(mailroom, '/api/messages', { origin: 'http://evil.test', 'access-control-request-method': 'DELETE' }, 'OPTIONS')).status).toBe(403);
    expect(JSON.parse((await raw(mailroom, '/api/messages')).body).total).toBe(1);
  });

  it("answers Mailroom's own origin, also as https behind a proxy and as localhost", async () => {
    expect((await raw(mailroom, '/api/messages', { origin: own })).status).toBe(200);
    expect((await raw(mailroom, '/api/messages', { origin: 'https://mail.example.test', host: 'mail.example.test' })).status).toBe(403);
    const proxied = await mailroomForTest({ allowedHosts: 'mail.example.test' });
    expect((await raw(proxied, '/api/messages', { origin: 'https://mail.example.test', host: 'mail.example.test' })).status).toBe(200);
    expect((await raw(mailroom, '/api/messages', { origin: `http://localhost:${mailroom.ports.http}`, host: `localhost:${mailroom.ports.http}` })).status).toBe(200);
    expect((await raw(mailroom, '/api/messages', { origin: `http://localhost:${mailroom.ports.http + 1}`, host: `localhost:${mailroom.ports.http}` })).status).toBe(403);
  });

  it('tells cross-site loads without Origin by Fetch Metadata: only top-level navigation passes', async () => {
    const scriptTag = { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'script' };
    expect((await raw(mailroom, '/api/messages', scriptTag)).status).toBe(403);
    expect((await raw(mailroom, '/api/messages', { ...scriptTag, 'sec-fetch-site': 'same-site' })).status).toBe(403);
    expect((await raw(mailroom, '/api/messages', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' })).status).toBe(200);
    expect((await raw(mailroom, '/api/messages', { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' })).status).toBe(200);
    expect((await raw(mailroom, '/api/messages', { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' })).status).toBe(200);
  });

  it('lets --api-cors origins in, with CORS headers', async () => {
    const cors = await mailroomForTest({ apiCors: 'http://app.test:3000' });
    const answer = await raw(cors, '/api/messages', { origin: 'http://app.test:3000' });
    expect(answer.status).toBe(200);
    expect(answer.headers['access-control-allow-origin']).toBe('http://app.test:3000');
    expect((await raw(cors, '/api/messages', { origin: 'http://app.test:3001' })).status).toBe(403);
  });
});

describe('response headers', async () => {
  const mailroom = await useMailroom();
  const id = await sendMail(mailroom, { to: 'a@example.test', subject: 'Hi', html: '<p>Hello</p>' });

  it("gives the app its CSP, forbids framing everywhere, and never lets content be sniffed", async () => {
    const page = await raw(mailroom, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toBe(APP_CSP);
    for (const path of ['/', '/api/messages', `/api/messages/${id}/raw`, '/api/nothing-here', `/api/messages/${id}/parts/1`]) {
      const answer = await raw(mailroom, path);
      expect(answer.headers['x-content-type-options'], path).toBe('nosniff');
      expect(answer.headers['x-frame-options'], path).toBe('DENY');
      expect(answer.headers['cross-origin-resource-policy'], path).toBe('same-origin');
      expect(answer.headers['content-security-policy'], path).toMatch(/frame-ancestors 'none'$/);
    }
    expect((await raw(mailroom, `/api/messages/${id}/parts/1`)).headers['content-security-policy']).toBe(
      "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'none'",
    );
  });
});

function connectLive(mailroom: Mailroom, transport: 'polling' | 'websocket', headers: Record<string, string>): Promise<{ socket: Socket; error: string | null }> {
  const socket = ioClient(mailroom.apiUrl, { transports: [transport], extraHeaders: headers, reconnection: false, timeout: 3000 });
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ socket, error: null }));
    socket.once('connect_error', (error) => {
      socket.close();
      resolve({ socket, error: error.message });
    });
  });
}

describe('socket.io', async () => {
  const mailroom = await useMailroom();

  it('refuses other origins over WebSocket and polling, and takes its own', async () => {
    for (const transport of ['websocket', 'polling'] as const) {
      const hostile = await connectLive(mailroom, transport, { origin: 'http://evil.test' });
      expect(hostile.error, transport).not.toBeNull();
      const own = await connectLive(mailroom, transport, { origin: mailroom.apiUrl });
      expect(own.error, transport).toBeNull();
      const arrived = new Promise<string>((resolve) => own.socket.once('message:new', (summary: { subject: string }) => resolve(summary.subject)));
      await sendMail(mailroom, { to: 'a@example.test', subject: `live over ${transport}` });
      expect(await arrived).toBe(`live over ${transport}`);
      own.socket.close();
    }
  });

  it('refuses a rebound Host name at the handshake', async () => {
    const rebound = await connectLive(mailroom, 'websocket', { host: `rebind.evil.test:${mailroom.ports.http}` });
    expect(rebound.error).not.toBeNull();
  });

  it('answers no JSONP, and sends nosniff with polling answers', async () => {
    const jsonp = await raw(mailroom, '/socket.io/?EIO=4&transport=polling&j=0');
    expect(jsonp.status).toBe(403);
    expect(jsonp.body).not.toContain('___eio');
    const polling = await raw(mailroom, '/socket.io/?EIO=4&transport=polling');
    expect(polling.status).toBe(200);
    expect(polling.body).toMatch(/^0\{"sid":/);
    expect(polling.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('a live client that stops reading', async () => {
  const mailroom = await useMailroom();

  it('is disconnected once its events pile up, and the others keep getting theirs', async () => {
    const { WebSocket } = await import('ws');
    const stalled = new WebSocket(`ws://127.0.0.1:${mailroom.ports.http}/socket.io/?EIO=4&transport=websocket`);
    const frames: string[] = [];
    stalled.on('message', (data) => frames.push(String(data)));
    const closed = new Promise<void>((resolve) => stalled.once('close', () => resolve()));
    await new Promise((resolve) => stalled.once('open', resolve));
    stalled.send('40');
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Reads nothing more from here: the kernel's buffers fill, then engine.io's queue.
    (stalled as unknown as { _socket: import('node:net').Socket })._socket.pause();
    const steady = await connectLive(mailroom, 'websocket', {});
    let steadyCount = 0;
    steady.socket.on('message:new', () => (steadyCount += 1));

    const count = 6000;
    const { bulkSend } = await import('../helpers/bulk.js');
    await bulkSend(mailroom.ports.smtp, count, (i) => `${'long subject '.repeat(70)}${i}`);
    await expect.poll(() => steadyCount, { timeout: 10_000 }).toBe(count);

    (stalled as unknown as { _socket: import('node:net').Socket })._socket.resume();
    await closed;
    const received = frames.filter((frame) => frame.startsWith('42["message:new"')).length;
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(count);
    steady.socket.close();
  }, 60_000);
});

/** Bytes written as they are; resolves with the first response once whole (by its Content-Length), or what came before a close. */
async function exchange(mailroom: Mailroom, bytes: string, ms = 10_000): Promise<string> {
  const { connect } = await import('node:net');
  const socket = connect(mailroom.ports.http, '127.0.0.1');
  socket.setEncoding('latin1');
  let text = '';
  const whole = (): boolean => {
    const end = text.indexOf('\r\n\r\n');
    const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1];
    return end >= 0 && length !== undefined && Buffer.byteLength(text.slice(end + 4), 'latin1') >= Number(length);
  };
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = (): void => (clearTimeout(timer), resolve());
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (whole()) done();
    });
    socket.once('close', done);
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
  socket.destroy();
  return text;
}

function split(response: string): { status: string; headers: Record<string, string>; body: string } {
  const end = response.indexOf('\r\n\r\n');
  const [status, ...lines] = response.slice(0, end).split('\r\n');
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { status: status!, headers, body: response.slice(end + 4) };
}

describe('requests the router or the HTTP parser refuse', async () => {
  const mailroom = await useMailroom();
  const host = `Host: 127.0.0.1:${mailroom.ports.http}\r\n`;

  it('answer with the API JSON error and the security headers', async () => {
    const cases: [string, string, object][] = [
      ['GET /api/info HTTP/1.1\r\n\r\n', 'HTTP/1.1 400 Bad Request', { error: 'bad_request', message: 'HTTP/1.1 requests need a Host header' }],
      [`GET /api/info HTTP/1.1\r\n${host}Expect: teapot\r\n\r\n`, 'HTTP/1.1 417 Expectation Failed', { error: 'expectation_failed', message: 'Expect: teapot is not supported' }],
      [`GET /api/info HTTP/1.1\r\n${host}X-Big: ${'x'.repeat(20_000)}\r\n\r\n`, 'HTTP/1.1 431 Request Header Fields Too Large', { error: 'headers_too_large', message: 'The request header is too large' }],
      ['GET /api/info HTTP/1.1\r\nHost: a\x01b\r\n\r\n', 'HTTP/1.1 400 Bad Request', { error: 'bad_request', message: 'Malformed HTTP request' }],
      [`GET /api/messages?limit=Infinity HTTP/1.1\r\n${host}\r\n`, 'HTTP/1.1 400 Bad Request', { error: 'bad_request', message: 'querystring/limit must be a finite number' }],
      [`GET /api/messages/wait?timeout=1e309 HTTP/1.1\r\n${host}\r\n`, 'HTTP/1.1 400 Bad Request', { error: 'bad_request', message: 'querystring/timeout must be a finite number' }],
    ];
    for (const [request, status, body] of cases) {
      const answer = split(await exchange(mailroom, request));
      expect(answer.status, request.slice(0, 40)).toBe(status);
      expect(JSON.parse(answer.body), request.slice(0, 40)).toStrictEqual(body);
      expect(answer.headers['x-content-type-options'], request.slice(0, 40)).toBe('nosniff');
      expect(answer.headers['cross-origin-resource-policy'], request.slice(0, 40)).toBe('same-origin');
    }
    for (const path of ['/socket.io/?EIO=4&transport=bogus', '/api/messages/%zz']) {
      const answer = split(await exchange(mailroom, `GET ${path} HTTP/1.1\r\n${host}Connection: close\r\n\r\n`));
      expect(answer.status, path).toBe('HTTP/1.1 400 Bad Request');
      expect(answer.headers['x-content-type-options'], path).toBe('nosniff');
      expect(answer.headers['cross-origin-resource-policy'], path).toBe('same-origin');
    }
  });
});
