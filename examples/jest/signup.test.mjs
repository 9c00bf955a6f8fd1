import { expect, test } from '@jest/globals';
import { MailroomClient, MailroomTimeoutError } from 'mailroom-catcher/client';
import { signUp } from '../app/signup.mjs';

const mailroom = new MailroomClient({ url: process.env.MAILROOM_API, timeout: 5000 });
const smtp = process.env.MAILROOM_SMTP;

test('sign-up mails a confirmation code and link', async () => {
  const inbox = mailroom.inbox();
  const sent = await signUp({ smtp, to: inbox.address });

  const mail = await inbox.waitForMessage({ subject: 'Confirm your account' });
  expect(mail.envelope.rcptTo).toEqual([inbox.address]);
  expect(await mail.codes()).toEqual([sent.code]);
  expect((await mail.links()).map((l) => l.url)).toContain(sent.link);
});

test('a wait that times out says what arrived instead', async () => {
  const inbox = mailroom.inbox();
  await signUp({ smtp, to: inbox.address });
  const waiting = inbox.waitForMessage({ subject: 'Password reset', timeout: 300 });
  await expect(waiting).rejects.toThrow(MailroomTimeoutError);
  await expect(waiting).rejects.toThrow(/"Confirm your account" from no-reply@app\.test/);
});
