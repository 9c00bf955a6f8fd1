import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

const artifacts = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
mkdirSync(artifacts, { recursive: true });

const mailroom = await useMailroom();
let browser: Browser;
let page: Page;
const foreignRequests: string[] = [];

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage();
  // Nothing from a message may reach the network: every request must stay on Mailroom's origin.
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(mailroom.apiUrl) || url.startsWith('about:') || url.startsWith('data:')) return route.continue();
    foreignRequests.push(url);
    return route.abort();
  });
  await page.goto(mailroom.apiUrl);
  await page.getByRole('status').filter({ hasText: 'messages' }).waitFor();
});

afterAll(async () => {
  await browser?.close();
});

describe('web inbox in Chromium', () => {
  it('shows a message sent over SMTP without a reload, and opens it on every tab', async () => {
    const id = await send(mailroom, {
      from: 'Shop <shop@example.test>',
      to: 'ann@example.test',
      bcc: 'hidden@example.test',
      subject: 'Your receipt',
      text: 'Thanks for your order',
      html: '<p>Thanks for your <b>order</b></p>',
      attachments: [{ filename: 'receipt.txt', content: 'total: 42' }],
    });
    const row = page.locator(`button[data-id="${id}"]`);
    await row.waitFor({ timeout: 2000 });
    expect(await row.locator('.subject').textContent()).toBe('Your receipt');
    expect(await row.evaluate((el) => el.classList.contains('unread'))).toBe(true);

    await row.click();
    expect(page.url()).toBe(`${mailroom.apiUrl}/#/messages/${id}`);
    await page.getByRole('heading', { name: 'Your receipt' }).waitFor();
    const frame = page.locator('iframe[title="HTML body"]');
    expect(await frame.getAttribute('sandbox')).toBe('allow-popups allow-popups-to-escape-sandbox');
    expect(await page.frameLocator('iframe[title="HTML body"]').locator('b').textContent()).toBe('order');
    await page.screenshot({ path: `${artifacts}message-html.png` });

    await page.getByRole('tab', { name: 'Text' }).click();
    expect(await page.getByRole('tabpanel').locator('pre').textContent()).toBe('Thanks for your order');
    await page.getByRole('tab', { name: 'Parts' }).click();
    await page.getByRole('tabpanel').locator('code.id', { hasText: '1.2' }).waitFor();
    expect(await page.getByRole('tabpanel').locator('code.id').allTextContents()).toStrictEqual(['TEXT', '1', '1.1', '1.2', '2']);
    await page.getByRole('tab', { name: 'Envelope' }).click();
    expect(await page.getByRole('tabpanel').locator('dd').nth(1).textContent()).toBe('ann@example.test, hidden@example.test');
    await page.getByRole('tab', { name: 'Source' }).click();
    await page.getByRole('tabpanel').locator('pre', { hasText: 'Subject: Your receipt' }).waitFor();

    // Opening marked it read, everywhere.
    expect((await api<{ read: boolean }>(mailroom, `/api/messages/${id}`)).body.read).toBe(true);
    await page.screenshot({ path: `${artifacts}message-source.png` });
  });

  it('runs nothing and loads nothing remote from a hostile message', async () => {
    await page.evaluate(() => ((window as unknown as { pwned?: boolean }).pwned = false));
    const payload = '<img src=x onerror="top.pwned=true">';
    const id = await send(mailroom, {
      subject: `Hello ${payload}<script>top.pwned=true</script>`,
      from: `"${payload}" <evil@example.test>`,
      html: `<meta http-equiv="refresh" content="0;url=https://evil.example/"><script>top.pwned=true;parent.pwned=true</script>${payload}<a href="javascript:top.pwned=true">x</a><img src="https://tracker.example/pixel.gif">`,
    });
    const row = page.locator(`button[data-id="${id}"]`);
    await row.waitFor({ timeout: 2000 });
    expect(await row.locator('.subject').textContent()).toBe(`Hello ${payload}<script>top.pwned=true</script>`);
    await row.click();
    await page.locator('iframe[title="HTML body"]').waitFor();
    await page.frameLocator('iframe[title="HTML body"]').getByText('x').click({ timeout: 2000 }).catch(() => undefined);
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => (window as unknown as { pwned?: boolean }).pwned)).toBe(false);
    expect(foreignRequests).toStrictEqual([]);
    expect(page.url()).toBe(`${mailroom.apiUrl}/#/messages/${id}`);
  });

  it('removes a message deleted over the API', async () => {
    const id = await send(mailroom, { subject: 'Short-lived' });
    const row = page.locator(`button[data-id="${id}"]`);
    await row.waitFor({ timeout: 2000 });
    await api(mailroom, `/api/messages/${id}`, { method: 'DELETE' });
    await row.waitFor({ state: 'detached', timeout: 2000 });
    await page.screenshot({ path: `${artifacts}inbox.png` });
  });
});
