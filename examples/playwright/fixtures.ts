import { test as base, expect } from '@playwright/test';
import { MailroomClient, type Inbox } from 'mailroom-catcher/client';

interface MailFixtures {
  /** An address of this test's own; its methods see only mail sent to it. */
  inbox: Inbox;
}

interface MailWorkerFixtures {
  mailroom: MailroomClient;
}

export const test = base.extend<MailFixtures, MailWorkerFixtures>({
  mailroom: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      await use(new MailroomClient({ url: process.env.MAILROOM_API!, timeout: 5000 }));
    },
    { scope: 'worker' },
  ],
  inbox: async ({ mailroom }, use) => {
    const inbox = mailroom.inbox();
    await use(inbox);
    await inbox.clear();
  },
});

export { expect };
