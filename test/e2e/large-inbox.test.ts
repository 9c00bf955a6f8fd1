import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { bulkSend } from '../helpers/bulk.js';
import { api, useMailroom } from '../helpers/mailroom.js';
import { launchChromium } from '../helpers/chromium.js';

const COUNT = 50_000;
const mailroom = await useMailroom({ maxMessages: 60_000 });
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
});

describe('a 50,000-message inbox in Chromium', () => {
  it('shows the newest rows at once, scrolls to the oldest and opens one', async () => {
    await bulkSend(mailroom.ports.smtp, COUNT, (i) => `bulk ${i}`);
    expect((await api<{ total: number }>(mailroom, '/api/messages?limit=1')).body.total).toBe(COUNT);

    browser = await launchChromium();
    const page = await browser.newPage();
    const started = Date.now();
    await page.goto(mailroom.apiUrl);
    await page.locator('button.row').first().waitFor();
    const firstRowsMs = Date.now() - started;
    // Only what is on screen is in the document, however long the inbox.
    expect(await page.locator('button.row').count()).toBeLessThan(60);
    expect(await page.locator('button.row .subject').first().textContent()).toBe(`bulk ${COUNT - 1}`);
    expect(firstRowsMs).toBeLessThan(5000);

    await page.locator('.viewport').evaluate((viewport) => (viewport.scrollTop = viewport.scrollHeight));
    const oldest = page.locator('button.row .subject', { hasText: /^bulk 0$/ });
    await oldest.waitFor({ timeout: 5000 });
    await oldest.click();
    await page.getByRole('heading', { name: 'bulk 0' }).waitFor();
    expect(await page.getByRole('status').textContent()).toContain(`${COUNT} messages`);
  }, 120_000);
});
