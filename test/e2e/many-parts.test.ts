import { describe, expect, it, onTestFinished } from 'vitest';
import { useMailroom } from '../helpers/mailroom.js';
import { manyPartsMessage } from '../helpers/many-parts.js';
import { send } from '../helpers/send.js';
import { useChromium } from '../helpers/chromium.js';

const mailroom = await useMailroom();
const browser = await useChromium();

describe('web inbox with a message of 1,500 MIME parts', () => {
  it('opens it, with its text, its HTML and all 1,498 attachments', async () => {
    const message = manyPartsMessage(1500);
    const id = await send(mailroom, { raw: message.raw, envelope: { from: 'bulk@example.test', to: 'user@example.test' } });
    const context = await browser.newContext();
    onTestFinished(() => context.close());
    const page = await context.newPage();
    await page.goto(`${mailroom.apiUrl}/#/messages/${id}`);
    await page.getByRole('heading', { name: '1500 parts' }).waitFor();
    expect(await page.frameLocator('iframe[title="HTML body"]').locator('b').textContent()).toBe('1500');

    await page.getByRole('tab', { name: 'Text' }).click();
    expect(await page.getByRole('tabpanel').locator('pre').textContent()).toBe(
      'Plain body of a message with 1500 parts.\nHTML body of a message with 1500 parts.',
    );

    await page.getByRole('tab', { name: 'Attachments' }).click();
    const items = page.getByRole('tabpanel').locator('ul.attachments > li');
    await items.nth(1497).waitFor();
    expect(await items.count()).toBe(1498);
    expect(await items.locator('a').allTextContents()).toStrictEqual(message.attachments.map((a) => a.filename));
    expect(await items.locator('span.muted').allTextContents()).toStrictEqual(
      message.attachments.map((a) => `${a.contentType} · ${a.size} B · attachment`),
    );
    // The leading space stands where an image attachment shows its preview.
    expect(await items.first().textContent()).toBe(' note-3.txt text/plain · 6 B · attachment');
    expect(await items.last().textContent()).toBe(' blob-1500.bin application/octet-stream · 9 B · attachment');
    expect(await items.last().locator('a').getAttribute('href')).toBe(`/api/messages/${id}/parts/1500?download=1`);
  });
});
