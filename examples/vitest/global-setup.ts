import { startMailroom } from 'mailroom-catcher';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Mailroom's HTTP address, for MailroomClient. */
    mailroomApi: string;
    /** Mailroom's SMTP server as "host:port", for the app under test. */
    mailroomSmtp: string;
  }
}

/** One Mailroom on free ports for the run; every test file reads its address with inject(). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const mailroom = await startMailroom({ smtpPort: 0, httpPort: 0, pop3Port: 0, imapPort: 0, logLevel: 'silent' });
  project.provide('mailroomApi', mailroom.apiUrl);
  project.provide('mailroomSmtp', `${mailroom.host}:${mailroom.ports.smtp}`);
  return () => mailroom.close();
}
