import { expect, it } from 'vitest';
import { useChromium } from '../helpers/chromium.js';
import { useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

const mailroom = await useMailroom();
const browser = await useChromium();

const PIXEL = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

it("the Parts tab's view of an HTML part shows its cid: images, and runs none of its scripts", async () => {
  const id = await send(mailroom, {
    subject: 'Logo inside',
    html: '<p>Our logo</p><img alt="logo" src="cid:Logo@Example.test"><script>document.title = "ran"</script>',
    attachments: [{ filename: 'logo.png', content: PIXEL, cid: 'logo@example.test', contentType: 'image/png' }],
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${mailroom.apiUrl}/#/messages/${id}`);
  await page.getByRole('tab', { name: 'Parts' }).click();
  const htmlPart = page.getByRole('tabpanel').locator('.part').filter({ hasText: 'text/html' });
  const [view] = await Promise.all([context.waitForEvent('page'), htmlPart.getByRole('link', { name: 'view' }).click()]);
  await view.waitForLoadState('load');
  // The page's own record of what it loaded, complete however early the loads began.
  // Chromium asks for /favicon.ico on its own for a page without an icon (once the inbox's own icon is a data: URL, for this one): the browser's load, not the message's.
  const loaded = (await view.evaluate(() => performance.getEntriesByType('resource').map((entry) => new URL(entry.name).pathname))).filter((path) => path !== '/favicon.ico');
  const image = await view.locator('img').evaluate((img: HTMLImageElement) => ({ src: img.getAttribute('src'), complete: img.complete, width: img.naturalWidth }));
  const tree = (await (await fetch(`${mailroom.apiUrl}/api/messages/${id}/parts`)).json()) as { root: { children: { contentType: string; partId: string; children: { contentType: string; partId: string }[] }[] } };
  const related = tree.root.children.find((c) => c.contentType === 'multipart/related') ?? tree.root;
  const png = (related as { children: { contentType: string; partId: string }[] }).children.find((c) => c.contentType === 'image/png')!;
  expect(view.url()).toMatch(new RegExp(`/api/messages/${id}/parts/[\\d.]+$`));
  expect(image).toStrictEqual({ src: png.partId, complete: true, width: 1 });
  expect(loaded).toStrictEqual([`/api/messages/${id}/parts/${png.partId}`]);
  expect(await view.title()).not.toBe('ran');
  expect(await view.locator('p').textContent()).toBe('Our logo');
  await context.close();
});
