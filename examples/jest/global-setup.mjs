import { startMailroom } from 'mailroom-catcher';

/**
 * One Mailroom on free ports for the run. Test workers start after this and
 * inherit the environment, so the addresses travel as environment variables
 * (the names the mailroom CLI reads too).
 */
export default async function globalSetup() {
  const mailroom = await startMailroom({ smtpPort: 0, httpPort: 0, pop3Port: 0, imapPort: 0, logLevel: 'silent' });
  process.env.MAILROOM_API = mailroom.apiUrl;
  process.env.MAILROOM_SMTP = `${mailroom.host}:${mailroom.ports.smtp}`;
  // Global setup and teardown share a process: keep the handle for teardown.
  globalThis.mailroom = mailroom;
}
