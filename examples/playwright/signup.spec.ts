import { signUp } from '../app/signup.mjs';
import { expect, test } from './fixtures.js';

const APP = 'http://app.test';

// A stand-in for the app's pages, served by Playwright itself: a sign-up form
// whose submit calls the app's mailer, and the page its confirmation link opens.
test.beforeEach(async ({ page }) => {
  await page.exposeFunction('signUp', (email: string) => signUp({ smtp: process.env.MAILROOM_SMTP!, to: email, appUrl: APP }));
  await page.route(`${APP}/**`, (route) => {
    const url = new URL(route.request().url());
    const body =
      url.pathname === '/confirm'
        ? `<h1>Account confirmed</h1><p>token ${url.searchParams.get('token')}</p>`
        : `<form onsubmit="event.preventDefault(); signUp(this.email.value).then(() => { document.body.innerHTML = '<h1>Check your mail</h1>' })">
             <label>Email <input name="email" type="email"></label><button>Sign up</button>
           </form>`;
    return route.fulfill({ contentType: 'text/html', body });
  });
});

test('signs up and confirms through the mailed link', async ({ page, inbox }) => {
  await page.goto(`${APP}/signup`);
  await page.getByLabel('Email').fill(inbox.address);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page.getByRole('heading', { name: 'Check your mail' })).toBeVisible();

  const mail = await inbox.waitForMessage({ subject: /confirm your account/i });
  const link = (await mail.links()).find((l) => l.type === 'html');
  expect(link?.text).toBe('Confirm my account');
  await page.goto(link!.url);
  await expect(page.getByRole('heading', { name: 'Account confirmed' })).toBeVisible();
});

test('the mail shows in Mailroom’s own web inbox', async ({ page, inbox, mailroom }) => {
  await page.goto(`${APP}/signup`);
  await page.getByLabel('Email').fill(inbox.address);
  await page.getByRole('button', { name: 'Sign up' }).click();
  const mail = await inbox.waitForMessage();

  await page.goto(`${mailroom.url}/#/messages/${mail.id}`);
  await expect(page.getByRole('heading', { name: 'Confirm your account' })).toBeVisible();
  await inbox.expectNoMessage({ after: mail, within: 200 });
});
