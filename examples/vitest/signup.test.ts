import { MailroomClient } from 'mailroom-catcher/client';
import { describe, expect, inject, it } from 'vitest';
import { signUp } from '../app/signup.mjs';

const mailroom = new MailroomClient({ url: inject('mailroomApi'), timeout: 5000 });
const smtp = inject('mailroomSmtp');

// Concurrent tests share one Mailroom; each one's inbox keeps its mail apart.
describe.concurrent('sign-up mail', () => {
  it('sends a confirmation code and link', async () => {
    const inbox = mailroom.inbox();
    const sent = await signUp({ smtp, to: inbox.address });

    const mail = await inbox.waitForMessage({ subject: /confirm your account/i });
    expect(mail.from?.address).toBe('no-reply@app.test');
    expect(await mail.codes()).toStrictEqual([sent.code]);
    const links = await mail.links();
    expect(links.find((l) => l.type === 'html')).toMatchObject({ url: sent.link, text: 'Confirm my account' });
    const terms = mail.attachment('terms.txt');
    expect(await terms?.text()).toBe('Be nice.\n');
  });

  it('sends exactly one mail per sign-up', async () => {
    const inbox = mailroom.inbox();
    await signUp({ smtp, to: inbox.address });
    const [first] = await inbox.waitForMessages(1);
    await inbox.expectNoMessage({ after: first, within: 300 });
  });

  it('sends nothing to anyone else', async () => {
    const inbox = mailroom.inbox();
    const bystander = mailroom.inbox();
    await signUp({ smtp, to: inbox.address });
    await inbox.waitForMessage();
    await bystander.expectNoMessage({ within: 300 });
  });
});
