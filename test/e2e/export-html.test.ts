import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { unzipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';
import { launchChromium } from '../helpers/chromium.js';

const mailroom = await useMailroom();
const dir = await mkdtemp(join(tmpdir(), 'mailroom-export-html-'));
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

const EVIL = 'https://evil.test/';
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');

/** Ways to make a page navigate by itself; each is live in Chromium (see the last test). */
const REFRESHES: Record<string, string> = {
  quoted: `<meta http-equiv="refresh" content="0;url=${EVIL}quoted">`,
  upper: `<META HTTP-EQUIV=REFRESH CONTENT=1;URL=${EVIL}upper>`,
  body: `<div><meta http-equiv="refresh" content="0;url=${EVIL}body"></div>`,
  svg: `<svg><style><meta http-equiv="refresh" content="0;url=${EVIL}svg"></style></svg>`,
  cdata: `<![CDATA[><meta http-equiv="refresh" content="0;url=${EVIL}cdata">]]>`,
};

const KITCHEN_SINK = [
  `<head><base href="${EVIL}base/"><noscript><meta http-equiv="refresh" content="0;url=${EVIL}noscript"></noscript></head>`,
  `<template><meta http-equiv="refresh" content="0;url=${EVIL}template"></template>`,
  `<form action="${EVIL}form" method="post"><input id="q" name="q" value="1"><button id="send">Send</button>`,
  `<button id="other" formaction="${EVIL}formaction">Other</button></form>`,
  `<img id="remote" src="${EVIL}pixel.gif"><img id="logo" src="cid:logo@x"><a id="relative" href="page.html">relative</a>`,
].join('');

interface Opened {
  page: Page;
  url: string;
  /** Requests that reached the network layer (CSP-blocked ones never do). */
  left: string[];
  /** Requests the page tried, with why each failed. */
  failed: string[];
}

async function open(file: string, html: string): Promise<Opened> {
  await writeFile(file, html);
  const url = pathToFileURL(file).href;
  const page = await browser.newPage();
  const left: string[] = [];
  const failed: string[] = [];
  await page.route('**/*', (route) => {
    const requested = route.request().url();
    if (requested === url) return route.continue();
    left.push(requested);
    return route.abort();
  });
  page.on('requestfailed', (request) => failed.push(`${request.url()} ${request.failure()?.errorText}`));
  await page.goto(url);
  return { page, url, left, failed };
}

/** Exports the messages whose subject holds `word`, each .html by message id. */
async function exported(word: string, ids: string[]): Promise<Map<string, string>> {
  const response = await fetch(`${mailroom.apiUrl}/api/messages/export?query=${encodeURIComponent(`subject:${word}`)}`);
  expect(response.status).toBe(200);
  const files = unzipSync(new Uint8Array(await response.arrayBuffer()));
  const byId = new Map<string, string>();
  for (const id of ids) {
    const name = Object.keys(files).find((entry) => entry.includes(`-${id}-`) && entry.endsWith('.html'));
    expect(name).toBeDefined();
    byId.set(id, Buffer.from(files[name!]!).toString('utf8'));
  }
  return byId;
}

describe('exported .html opened from disk in Chromium', () => {
  it('stays on the page: no meta refresh, form, <base> or remote load survives', async () => {
    const ids = new Map<string, string>();
    for (const [name, refresh] of Object.entries(REFRESHES)) {
      ids.set(name, await send(mailroom, { subject: `inert ${name}`, html: `<p class="greeting">Hello from ${name}</p>${refresh}` }));
    }
    const sink = await send(mailroom, {
      subject: 'inert kitchen sink',
      html: `<p class="greeting">Hello from the sink</p>${KITCHEN_SINK}`,
      attachments: [{ filename: 'logo.png', content: PNG, cid: 'logo@x' }],
    });
    const files = await exported('inert', [...ids.values(), sink]);

    const pages = await Promise.all([...files].map(([id, html]) => open(join(dir, `${id}.html`), html)));
    const sinkPage = pages.find((p) => p.url.endsWith(`${sink}.html`))!;
    // Submitting is not possible either: no form is left, and the button has no formaction.
    await sinkPage.page.locator('#send').click();
    await sinkPage.page.locator('#other').click();
    await sinkPage.page.locator('#q').press('Enter');
    await pages[0]!.page.waitForTimeout(2000);

    for (const { page, url, left, failed } of pages) {
      expect(page.url()).toBe(url);
      expect(left).toStrictEqual([]);
      expect(await page.locator('meta[http-equiv]').evaluateAll((metas) => metas.map((m) => m.getAttribute('http-equiv')))).toStrictEqual([
        'Content-Security-Policy',
      ]);
      expect(await page.locator('form, base').count()).toBe(0);
      if (url === sinkPage.url) {
        expect(await page.locator('.greeting').textContent()).toBe('Hello from the sink');
        // The remote image was tried and refused by the CSP before any request; the cid: image is inline.
        expect(failed).toStrictEqual([`${EVIL}pixel.gif csp`]);
        expect(await page.locator('#logo').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1);
        expect(await page.locator('#relative').evaluate((a: HTMLAnchorElement) => a.href)).toBe(new URL('page.html', url).href);
      } else {
        expect(failed).toStrictEqual([]);
      }
    }
    await Promise.all(pages.map(({ page }) => page.close()));
  });

  it('would leave the page without the stripping: the same file with the message HTML as sent', async () => {
    const id = await send(mailroom, { subject: 'control', html: '<p>control</p>' });
    const html = (await exported('control', [id])).get(id)!;
    const head = html.slice(0, html.indexOf('<p>control</p>'));
    const pages = await Promise.all(
      Object.entries(REFRESHES).map(([name, refresh]) => open(join(dir, `control-${name}.html`), `${head}<p>${name}</p>${refresh}\n`)),
    );
    // Each refresh fires on its own timer and a loaded machine commits the error page late: wait for it, not a fixed time.
    await expect.poll(() => pages.map(({ left }) => left[0]), { timeout: 15_000 }).toStrictEqual(Object.keys(REFRESHES).map((name) => `${EVIL}${name}`));
    await expect.poll(() => pages.map(({ page }) => page.url()), { timeout: 15_000 }).toStrictEqual(pages.map(() => 'chrome-error://chromewebdata/'));
    await Promise.all(pages.map(({ page }) => page.close()));
  });
});
