import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Mailroom } from 'mailroom-catcher';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

const clientDir = fileURLToPath(new URL('../../dist/server/src/client/', import.meta.url));
/**
 * The app under test, on an origin of its own, as in a Cypress or Storybook
 * run: a real server on another port, serving a blank page and the client's files.
 */
const app: Server = createServer((request, response) => {
  const name = new URL(request.url ?? '/', 'http://x').pathname.split('/').pop()!;
  if (name === 'index.html') return void response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title>');
  if (!/^[a-z-]+\.js$/.test(name)) return void response.writeHead(404).end();
  response.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(`${clientDir}${name}`, 'utf8'));
});
await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
const APP = `http://localhost:${(app.address() as AddressInfo).port}`;

const open = await useMailroom({ apiCors: APP });
const closed = await useMailroom();
let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
});
afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => app.close(resolve));
});

/** Runs the client in a page of APP against a Mailroom on another origin; resolves with what the page saw. */
async function fromApp(mailroom: Mailroom): Promise<unknown> {
  const page = await browser.newPage();
  try {
    await page.goto(`${APP}/index.html`);
    const address = await page.evaluate(`(async () => {
      const { MailroomClient } = await import('/index.js');
      const inbox = new MailroomClient({ url: '${mailroom.apiUrl}', timeout: 5000 }).inbox();
      window.seen = inbox.waitForMessage({ subject: 'cross-origin' }).then((m) => m.subject, (e) => 'failed: ' + e.name + ' ' + e.message);
      return inbox.address;
    })()`);
    await send(mailroom, { to: address as string, subject: 'cross-origin' });
    return await page.evaluate(() => (window as unknown as { seen: Promise<unknown> }).seen);
  } finally {
    await page.close();
  }
}

describe('--api-cors', () => {
  it('lets pages of the named origin use the API, with preflight', async () => {
    expect(await fromApp(open)).toBe('cross-origin');
    const preflight = await fetch(`${open.apiUrl}/api/messages`, {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'DELETE' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(APP);
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET, HEAD, POST, PATCH, PUT, DELETE');
    const other = await fetch(`${open.apiUrl}/api/health`, { headers: { origin: 'http://evil.test' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('is off by default: another origin cannot read captured mail', async () => {
    expect(await fromApp(closed)).toMatch(/^failed: /);
    const response = await fetch(`${closed.apiUrl}/api/health`, { headers: { origin: APP } });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});
