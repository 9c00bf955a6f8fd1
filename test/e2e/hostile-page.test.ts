import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';
import { launchChromium } from '../helpers/chromium.js';

/**
 * A page on another site (http://evil.test, mapped to loopback by Chromium's
 * host resolver) tries every way a page has to reach a Mailroom on the same
 * machine; a rebinding page (http://rebind.test:<Mailroom's port>) tries to
 * pass for Mailroom's own origin.
 */
const mailroom = await useMailroom({ pop2Port: 0 });
const http = mailroom.ports.http;
let browser: Browser;
let evil: Server;
let evilOrigin: string;

beforeAll(async () => {
  evil = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<!doctype html><title>Free prizes</title><p>Nothing to see here</p>');
  });
  evil.listen(0, '127.0.0.1');
  await once(evil, 'listening');
  evilOrigin = `http://evil.test:${(evil.address() as AddressInfo).port}`;
  browser = await launchChromium(['--host-resolver-rules=MAP evil.test 127.0.0.1, MAP rebind.test 127.0.0.1']);
});

afterAll(async () => {
  await browser?.close();
  evil?.close();
});

async function evilPage(): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${evilOrigin}/`);
  return page;
}

interface Snapshot {
  total: number;
  flagged: number;
  subjects: string[];
}

async function snapshot(): Promise<Snapshot> {
  const { body } = await api<{ total: number; messages: { subject: string; read: boolean }[] }>(mailroom, '/api/messages?limit=100');
  return { total: body.total, flagged: body.messages.filter((m) => m.read).length, subjects: body.messages.map((m) => m.subject).sort() };
}

describe('a page on another site', () => {
  it('cannot read new mail over socket.io, by WebSocket or by JSONP polling', async () => {
    await send(mailroom, { to: 'victim@example.test', subject: 'Your code is 493021' });
    const page = await evilPage();
    const result = await page.evaluate(async (port) => {
      const socket = await new Promise<string>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
        const seen: string[] = [];
        ws.onmessage = (event) => seen.push(String(event.data));
        ws.onerror = () => resolve(`error after ${JSON.stringify(seen)}`);
        ws.onopen = () => ws.send('40');
        setTimeout(() => resolve(`open with ${JSON.stringify(seen)}`), 1500);
      });
      const jsonp = await new Promise<string>((resolve) => {
        (window as unknown as { ___eio: ((data: string) => void)[] }).___eio = [(data) => resolve(`called with ${data}`)];
        const script = document.createElement('script');
        script.src = `http://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling&j=0`;
        script.onerror = () => resolve('script refused');
        document.body.append(script);
        setTimeout(() => resolve('no answer'), 1500);
      });
      return { socket, jsonp };
    }, http);
    expect(result).toStrictEqual({ socket: 'error after []', jsonp: 'script refused' });
    await page.close();
  });

  it('cannot read, load or delete mail through the API', async () => {
    const before = await snapshot();
    const page = await evilPage();
    const result = await page.evaluate(async (port) => {
      const base = `http://127.0.0.1:${port}`;
      const outcome = async (run: () => Promise<Response>): Promise<string> => {
        try {
          const response = await run();
          return response.type === 'opaque' ? 'opaque' : `${response.status} ${await response.text()}`;
        } catch (error) {
          return `refused: ${(error as Error).name}`;
        }
      };
      const script = await new Promise<string>((resolve) => {
        const tag = document.createElement('script');
        tag.src = `${base}/api/messages`;
        tag.onload = () => resolve('loaded');
        tag.onerror = () => resolve('error');
        document.body.append(tag);
      });
      return {
        read: await outcome(() => fetch(`${base}/api/messages`)),
        readNoCors: await outcome(() => fetch(`${base}/api/messages`, { mode: 'no-cors' })),
        remove: await outcome(() => fetch(`${base}/api/messages`, { method: 'DELETE' })),
        removeNoCors: await outcome(() => fetch(`${base}/api/messages`, { method: 'POST', mode: 'no-cors', body: 'x' })),
        script,
      };
    }, http);
    // No CORS headers for evil.test; no-cors answers are withheld by Cross-Origin-Resource-Policy.
    expect(result).toStrictEqual({
      read: 'refused: TypeError',
      readNoCors: 'refused: TypeError',
      remove: 'refused: TypeError',
      removeNoCors: 'refused: TypeError',
      script: 'error',
    });
    expect(await snapshot()).toStrictEqual(before);
    await page.close();
  });

  it('cannot run commands on the SMTP, POP3, POP2 or IMAP port by POSTing to it', async () => {
    await send(mailroom, { to: 'victim@example.test', subject: 'Still here after the POSTs' });
    const before = await snapshot();
    expect(before.total).toBeGreaterThan(0);
    const page = await evilPage();
    const bodies: [number, string][] = [
      [mailroom.ports.smtp, 'HELO evil\r\nMAIL FROM:<a@evil.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nSubject: injected\r\n\r\nspam\r\n.\r\nQUIT\r\n'],
      [mailroom.ports.pop3, 'USER x\r\nPASS y\r\nDELE 1\r\nDELE 2\r\nQUIT\r\n'],
      [mailroom.ports.pop2!, 'HELO x y\r\nREAD 1\r\nRETR\r\nACKD\r\nQUIT\r\n'],
      [mailroom.ports.imap, 'a LOGIN x y\r\nb SELECT INBOX\r\nc STORE 1:* +FLAGS (\\Seen \\Deleted)\r\nd EXPUNGE\r\n'],
    ];
    const outcomes = await page.evaluate(
      async (list) =>
        Promise.all(
          list.map(async ([port, body]) => {
            try {
              await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', mode: 'no-cors', body });
              return 'answered';
            } catch (error) {
              return `failed: ${(error as Error).name}`;
            }
          }),
        ),
      bodies,
    );
    // Every mail port hangs up on HTTP, which the page sees as a network error.
    expect(outcomes).toStrictEqual(['failed: TypeError', 'failed: TypeError', 'failed: TypeError', 'failed: TypeError']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await snapshot()).toStrictEqual(before);
    await page.close();
  });

  it('cannot frame the inbox', async () => {
    const page = await evilPage();
    await page.evaluate((port) => {
      const frame = document.createElement('iframe');
      frame.src = `http://127.0.0.1:${port}/`;
      document.body.append(frame);
    }, http);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // frame-ancestors 'none': Chromium shows its error page in the frame instead of the inbox.
    expect(page.frames().map((f) => f.url())).toStrictEqual([`${evilOrigin}/`, 'chrome-error://chromewebdata/']);
    await page.close();
  });
});

describe('a rebinding page', () => {
  it('on a name that resolves to Mailroom gets 403 for the page and the API', async () => {
    const page = await browser.newPage();
    const response = await page.goto(`http://rebind.test:${http}/`);
    expect(response?.status()).toBe(403);
    expect(JSON.parse(await page.locator('body').innerText())).toStrictEqual({
      error: 'forbidden_host',
      message: 'Host "rebind.test" is not allowed; start Mailroom with --allowed-hosts rebind.test to answer it',
    });
    const read = await page.evaluate(async () => {
      const answer = await fetch('/api/messages');
      return `${answer.status} ${(await answer.json()).error}`;
    });
    expect(read).toBe('403 forbidden_host');
    await page.close();
  });
});

describe('the inbox behind basic auth', async () => {
  const guarded = await useMailroom({ uiAuth: { ann: 'open sesame' } });

  it('asks the browser for a login, then works, live updates included', async () => {
    const anonymous = await browser.newPage();
    // Headless Chromium cannot show the login prompt, so the 401 ends the navigation.
    await expect(anonymous.goto(guarded.apiUrl)).rejects.toThrow('net::ERR_INVALID_AUTH_CREDENTIALS');
    await anonymous.close();
    const context = await browser.newContext({ httpCredentials: { username: 'ann', password: 'open sesame' } });
    const page = await context.newPage();
    expect((await page.goto(guarded.apiUrl))?.status()).toBe(200);
    await page.getByRole('status').filter({ hasText: 'messages' }).waitFor();
    const id = await send(guarded, { subject: 'Behind the login' });
    const row = page.locator(`button[data-id="${id}"]`);
    await row.waitFor({ timeout: 3000 });
    expect(await row.locator('.subject').textContent()).toBe('Behind the login');
    await context.close();
  });
});
