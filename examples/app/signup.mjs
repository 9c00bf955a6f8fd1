// The "application under test" shared by the examples: a sign-up that mails a
// confirmation code and link. In a real project this is your app, configured
// to send through Mailroom's SMTP port.
import { randomBytes, randomInt } from 'node:crypto';
import nodemailer from 'nodemailer';

/**
 * Sends the sign-up confirmation to `to` through the SMTP server at `smtp`
 * ("host:port"), and returns the code and token it mailed.
 *
 * @param {{ smtp: string, to: string, appUrl?: string }} options
 */
export async function signUp({ smtp, to, appUrl = 'http://app.test' }) {
  const [host, port] = smtp.split(':');
  const code = String(randomInt(100000, 1000000));
  const token = randomBytes(8).toString('hex');
  const link = `${appUrl}/confirm?token=${token}`;
  const transport = nodemailer.createTransport({ host, port: Number(port), ignoreTLS: true });
  try {
    await transport.sendMail({
      from: 'Example App <no-reply@app.test>',
      to,
      subject: 'Confirm your account',
      text: `Your confirmation code is ${code}.\n\nOr open ${link}\n`,
      html: `<p>Your confirmation code is <b>${code}</b>.</p><p><a href="${link}">Confirm my account</a></p>`,
      attachments: [{ filename: 'terms.txt', content: 'Be nice.\n' }],
    });
  } finally {
    transport.close();
  }
  return { code, token, link };
}
