import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import type { Mailroom } from 'mailroom-catcher';

/** Sends one message with nodemailer and returns the id Mailroom gave it. */
export async function send(mailroom: Mailroom, message: Mail.Options): Promise<string> {
  const transport = nodemailer.createTransport({ host: mailroom.host, port: mailroom.ports.smtp, ignoreTLS: true });
  const info = await transport.sendMail({ from: 'app@example.com', to: 'user@example.com', text: 'text', ...message });
  transport.close();
  return /queued as (\S+)/.exec(info.response)![1]!;
}
