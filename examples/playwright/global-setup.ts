import { startMailroom } from 'mailroom-catcher';

/**
 * One Mailroom on free ports for the run. Workers start after this and inherit
 * the environment, so its addresses travel as MAILROOM_API and MAILROOM_SMTP.
 * The function returned is Playwright's global teardown.
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const mailroom = await startMailroom({ smtpPort: 0, httpPort: 0, pop3Port: 0, imapPort: 0, logLevel: 'silent' });
  process.env.MAILROOM_API = mailroom.apiUrl;
  process.env.MAILROOM_SMTP = `${mailroom.host}:${mailroom.ports.smtp}`;
  return () => mailroom.close();
}
