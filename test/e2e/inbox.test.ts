import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { api, useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';
import { useChromium } from '../helpers/chromium.js';

const artifacts = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
mkdirSync(artifacts, { recursive: true });

const mailroom = await useMailroom();
const browser = await useChromium();

/** The status line once the live connection is up ("1 message" has no s); it reads "Disconnected" otherwise. */
const CONNECTED = /\d+ messages?, \d+ unread/;

interface Opened {
  page: Page;
  /** Requests for anything but Mailroom's origin, all refused. */
  foreignRequests: string[];
}

/** A page in a browser context of the running test's own, at `path` and live, closed when the test finishes. */
async function openInbox(path = '/#/'): Promise<Opened> {
  const context = await browser.newContext();
  onTestFinished(() => context.close());
  const page = await context.newPage();
  const foreignRequests: string[] = [];
  // Nothing from a message may reach the network: every request must stay on Mailroom's origin.
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(mailroom.apiUrl) || url.startsWith('about:') || url.startsWith('data:')) return route.continue();
    foreignRequests.push(url);
    return route.abort();
  });
  await page.goto(`${mailroom.apiUrl}${path}`);
  await page.getByRole('status').filter({ hasText: CONNECTED }).waitFor();
  return { page, foreignRequests };
}

describe('web inbox in Chromium', () => {
  it('shows a message sent over SMTP without a reload, and opens it on every tab', async () => {
    const { page } = await openInbox();
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
    await row.waitFor({ timeout: 1000 });
    expect(await row.locator('.subject').textContent()).toBe('Your receipt');
    expect(await row.evaluate((el) => el.classList.contains('unread'))).toBe(true);

    await row.click();
    expect(page.url()).toBe(`${mailroom.apiUrl}/#/messages/${id}`);
    await page.getByRole('heading', { name: 'Your receipt' }).waitFor();
    const frame = page.locator('iframe[title="HTML body"]');
    expect(await frame.getAttribute('sandbox')).toBe('allow-same-origin allow-popups allow-popups-to-escape-sandbox');
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

  it('shows inline cid: images from their parts, with no network beyond Mailroom', async () => {
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==',
      'base64',
    );
    const id = await send(mailroom, {
      subject: 'Inline logo',
      html: '<p>Logo:</p><img id="logo" src="cid:logo@test" width="10" height="10">',
      attachments: [{ filename: 'logo.png', content: png, cid: 'logo@test' }],
    });
    const { page, foreignRequests } = await openInbox(`/#/messages/${id}`);
    const logo = page.frameLocator('iframe[title="HTML body"]').locator('#logo');
    await logo.waitFor();
    await expect
      .poll(() => logo.evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : -1)), { timeout: 3000 })
      .toBe(1);
    expect(await logo.getAttribute('src')).toBe(`/api/messages/${id}/parts/2.2`);
    expect(foreignRequests).toStrictEqual([]);
  });

  it('runs nothing and loads nothing remote from a hostile message', async () => {
    const { page, foreignRequests } = await openInbox();
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
    await page.frameLocator('iframe[title="HTML body"]').getByText('x').click({ timeout: 2000 });
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => (window as unknown as { pwned?: boolean }).pwned)).toBe(false);
    expect(foreignRequests).toStrictEqual([]);
    expect(page.url()).toBe(`${mailroom.apiUrl}/#/messages/${id}`);
  });

  it('narrows the list with the search box, live as mail arrives', async () => {
    await send(mailroom, { subject: 'alpha one' });
    await send(mailroom, { subject: 'beta two' });
    const { page } = await openInbox();
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Search messages');
    await page.keyboard.type('subject:alpha');
    await page.waitForFunction(() => [...document.querySelectorAll('button.row .subject')].every((el) => el.textContent!.startsWith('alpha')));
    const alpha = await send(mailroom, { subject: 'alpha three' });
    await page.locator(`button[data-id="${alpha}"]`).waitFor({ timeout: 2000 });
    expect(await page.locator('button.row .subject').allTextContents()).toStrictEqual(['alpha three', 'alpha one']);
    // A search that finds nothing says so, rather than that no mail has come.
    await page.getByRole('searchbox').fill('subject:nothing-has-this-subject');
    await page.getByRole('searchbox').dispatchEvent('input');
    await page.locator('button.row').first().waitFor({ state: 'detached' });
    expect(await page.locator('.viewport > p').allTextContents()).toStrictEqual(['No messages match this search.']);
    await page.getByRole('searchbox').fill('');
    await page.getByRole('searchbox').dispatchEvent('input');
    await page.locator('button.row .subject', { hasText: 'beta two' }).waitFor();
  });

  it('downloads an attachment with the bytes that were sent', async () => {
    const content = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));
    const id = await send(mailroom, { subject: 'With a file', attachments: [{ filename: 'data.bin', content }] });
    const { page } = await openInbox(`/#/messages/${id}`);
    await page.getByRole('tab', { name: 'Attachments' }).click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'data.bin' }).click()]);
    expect(download.suggestedFilename()).toBe('data.bin');
    const saved = await download.createReadStream();
    const chunks: Buffer[] = [];
    for await (const chunk of saved) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(content)).toBe(true);
  });

  it('moves with j/k, opens with Enter, goes back with Escape, and follows browser history', async () => {
    await send(mailroom, { subject: 'first to move over' });
    await send(mailroom, { subject: 'second to move over' });
    const { page } = await openInbox();
    await page.locator('button.row').first().waitFor();
    const ids = await page.locator('button.row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-id')));
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${mailroom.apiUrl}/#/messages/${ids[1]}`);
    await page.keyboard.press('Escape');
    await page.waitForURL(`${mailroom.apiUrl}/#/`);
    await page.goBack();
    await page.waitForURL(`${mailroom.apiUrl}/#/messages/${ids[1]}`);
    await page.getByRole('article', { name: 'Message' }).waitFor();
  });

  it('is usable 360 px wide, in the dark theme', async () => {
    const id = await send(mailroom, { subject: 'Read on a phone', text: 'Narrow screens get the whole message too' });
    const { page } = await openInbox(`/#/messages/${id}`);
    await page.getByRole('article', { name: 'Message' }).waitFor();
    await page.setViewportSize({ width: 360, height: 720 });
    await page.getByRole('combobox').selectOption('dark');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await page.screenshot({ path: `${artifacts}narrow-dark.png` });
  });

  it('shows a dropped connection, and catches up on what arrived meanwhile when it is back', async () => {
    const { page } = await openInbox();
    await page.context().setOffline(true);
    await page.getByRole('status').filter({ hasText: 'Disconnected' }).waitFor({ timeout: 10_000 });
    const missed = await send(mailroom, { subject: 'sent while offline' });
    await page.context().setOffline(false);
    await page.getByRole('status').filter({ hasText: CONNECTED }).waitFor({ timeout: 15_000 });
    await page.locator(`button[data-id="${missed}"]`).waitFor({ timeout: 5000 });
    const unread = (await api<{ unread: number }>(mailroom, '/api/messages')).body.unread;
    expect(await page.title()).toBe(`(${unread}) Mailroom`);
  });

  it('lists envelope recipients as mailboxes, and a click filters to one', async () => {
    await send(mailroom, { to: 'ann@example.test', bcc: 'blind-copy@example.test', subject: 'Copied blind' });
    await send(mailroom, { to: 'ann@example.test', subject: 'Not copied' });
    const { page } = await openInbox();
    const blindCopy = page.getByRole('button', { name: /blind-copy@example\.test/ });
    await blindCopy.waitFor();
    await blindCopy.click();
    await page.waitForFunction(() => document.querySelectorAll('button.row').length === 1);
    expect(await page.locator('button.row .subject').allTextContents()).toStrictEqual(['Copied blind']);
    expect(await page.getByRole('searchbox').inputValue()).toBe('to:blind-copy@example.test');
    await page.getByRole('button', { name: /All mail/ }).click();
    await page.waitForFunction(() => document.querySelectorAll('button.row').length > 1);
  });

  it('shows tags in the row, the reader and the sidebar, and a click on one lists its messages', async () => {
    const { page } = await openInbox();
    const tagged = await send(mailroom, { to: 'ann+Orders@example.test', subject: 'Tagged twice', headers: { 'X-Tags': 'Needs review' } });
    await send(mailroom, { subject: 'Also in review', headers: { 'X-Tags': 'needs REVIEW' } });
    const row = page.locator(`button[data-id="${tagged}"]`);
    await row.waitFor({ timeout: 2000 });
    expect(await row.locator('.tags .tag').allTextContents()).toStrictEqual(['Needs review', 'Orders']);
    const sidebar = page.getByRole('navigation', { name: 'Tags' });
    await sidebar.locator('button[data-tag="Orders"]').waitFor({ timeout: 2000 });
    const entries = async (): Promise<string[]> =>
      (await sidebar.locator('button').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim()).filter((t) => /^(Needs review|Orders) /.test(t));
    await page.waitForFunction(() => document.querySelector('button[data-tag="Needs review"] .counts')?.textContent === '2', null, { timeout: 3000 });
    expect(await entries()).toStrictEqual(['Needs review 2', 'Orders 1']);

    await sidebar.locator('button[data-tag="Needs review"]').click();
    expect(await page.getByRole('searchbox').inputValue()).toBe('tag:"Needs review"');
    await page.waitForFunction(() => document.querySelectorAll('button.row').length === 2, null, { timeout: 3000 });
    expect(await page.locator('button.row .subject').allTextContents()).toStrictEqual(['Also in review', 'Tagged twice']);
    expect(await sidebar.locator('button[aria-current="true"]').getAttribute('data-tag')).toBe('Needs review');

    await row.click();
    const reader = page.getByRole('article', { name: 'Message' });
    await reader.locator('dd.tags button.tag').first().waitFor({ timeout: 3000 });
    expect(await reader.locator('dd.tags button.tag').allTextContents()).toStrictEqual(['Needs review', 'Orders']);
    await reader.getByRole('button', { name: 'Orders' }).click();
    expect(await page.getByRole('searchbox').inputValue()).toBe('tag:"Orders"');
    await page.waitForFunction(() => document.querySelectorAll('button.row').length === 1, null, { timeout: 3000 });
    await page.screenshot({ path: `${artifacts}inbox-tags.png` });

    await api(mailroom, `/api/messages/${tagged}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"tags":["Done"]}' });
    // Filtered by its old tag, the list drops it; unfiltered, the row shows the new one.
    await row.waitFor({ state: 'detached', timeout: 3000 });
    await page.getByRole('searchbox').fill('');
    await page.waitForFunction((id) => document.querySelector(`button[data-id="${id}"] .tags`)?.textContent === 'Done', tagged, { timeout: 3000 });
    await sidebar.locator('button[data-tag="Orders"]').waitFor({ state: 'detached', timeout: 2000 });
  });

  it('deletes the message under the cursor with the Delete key', async () => {
    const id = await send(mailroom, { subject: 'Delete me with a key' });
    const { page } = await openInbox();
    await page.locator(`button[data-id="${id}"]`).waitFor();
    await page.getByRole('heading', { name: 'Mailroom' }).click();
    await page.keyboard.press('Delete');
    await page.locator(`button[data-id="${id}"]`).waitFor({ state: 'detached', timeout: 2000 });
    expect((await api(mailroom, `/api/messages/${id}`)).status).toBe(404);
  });

  it('follows read changes and deletions made over the API', async () => {
    const { page } = await openInbox();
    const id = await send(mailroom, { subject: 'Short-lived' });
    const row = page.locator(`button[data-id="${id}"]`);
    await row.waitFor({ timeout: 2000 });
    await api(mailroom, `/api/messages/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"read":true}',
    });
    await page.locator(`button.row:not(.unread)[data-id="${id}"]`).waitFor({ timeout: 2000 });
    await api(mailroom, `/api/messages/${id}`, { method: 'DELETE' });
    await row.waitFor({ state: 'detached', timeout: 2000 });
    await page.screenshot({ path: `${artifacts}inbox.png` });
  });

  it('shows the unread count on the tab icon, and no badge once all is read', async () => {
    await send(mailroom, { subject: 'Unread for the badge' });
    const { page } = await openInbox();
    const badge = (): Promise<string | null> =>
      page.evaluate(() => {
        const href = document.querySelector<HTMLLinkElement>('link[rel="icon"]')?.href ?? '';
        return /<text[^>]*>([^<]*)<\/text>/.exec(decodeURIComponent(href.slice(href.indexOf(',') + 1)))?.[1] ?? null;
      });
    const unread = (await api<{ unread: number }>(mailroom, '/api/messages')).body.unread;
    expect(unread).toBeGreaterThan(0);
    await expect.poll(badge).toBe(unread > 99 ? '99+' : String(unread));
    // Mailpit's mark-all-read, the quickest way to read everything.
    const read = await api(mailroom, '/api/v1/messages', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Read: true }) });
    expect(read.status).toBe(200);
    await expect.poll(badge).toBeNull();
  });

  it('deletes everything after a confirmation, and nothing when it is declined', async () => {
    await send(mailroom, { subject: 'Kept, then deleted' });
    const { page } = await openInbox();
    await page.locator('button.row').first().waitFor();
    page.once('dialog', (dialog) => void dialog.dismiss());
    await page.getByRole('button', { name: 'Delete all' }).click();
    expect((await api<{ total: number }>(mailroom, '/api/messages')).body.total).toBeGreaterThan(0);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete all' }).click();
    await page.locator('button.row').first().waitFor({ state: 'detached', timeout: 2000 });
    expect(await page.locator('.viewport > p').allTextContents()).toStrictEqual(['No messages yet. Send mail to the SMTP port and it shows up here.']);
    expect((await api<{ total: number }>(mailroom, '/api/messages')).body.total).toBe(0);
    expect(await page.title()).toBe('Mailroom');
  });
});
