import { describe, expect, it } from 'vitest';
import { useMailroom, api } from '../helpers/mailroom.js';
import { SmtpWire } from '../helpers/smtp-wire.js';

/** Sends `text` one byte at a time, `gapMs` apart, until the text ends or the server hangs up. */
async function trickle(wire: SmtpWire, text: string, gapMs: number, closed: { value: boolean }): Promise<number> {
  let sent = 0;
  for (const byte of text) {
    if (closed.value) break;
    wire.write(byte);
    sent += 1;
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  return sent;
}

async function greeted(port: number): Promise<{ wire: SmtpWire; closed: { value: boolean }; closedAt: Promise<number> }> {
  const wire = await SmtpWire.open(port);
  await wire.reply();
  const closed = { value: false };
  const closedAt = wire.closed.then(() => {
    closed.value = true;
    return Date.now();
  });
  return { wire, closed, closedAt };
}

describe('SMTP deadlines a trickle cannot extend', async () => {
  const mailroom = await useMailroom({ smtpTimeout: 1, smtpDataTimeout: 2 });

  it('closes a session whose command line trickles in past --smtp-timeout, though bytes keep coming', async () => {
    const { wire, closed, closedAt } = await greeted(mailroom.ports.smtp);
    const started = Date.now();
    const sending = trickle(wire, 'EHLO a-very-slow-client.example.test\r\n', 200, closed);
    expect((await wire.reply()).text).toBe('421 4.4.2 Timeout: command line not completed in time, closing connection');
    const at = await closedAt;
    expect(at - started).toBeGreaterThanOrEqual(1000);
    expect(at - started).toBeLessThan(2500);
    expect(await sending).toBeLessThan(15);
  });

  it('closes a session whose message trickles in past --smtp-data-timeout, and stores nothing', async () => {
    const { wire, closed, closedAt } = await greeted(mailroom.ports.smtp);
    expect((await wire.command('EHLO tester')).code).toBe(250);
    expect((await wire.command('MAIL FROM:<slow@example.test>')).code).toBe(250);
    expect((await wire.command('RCPT TO:<victim@example.test>')).code).toBe(250);
    expect((await wire.command('DATA')).code).toBe(354);
    const started = Date.now();
    // Each line completes well within --smtp-timeout, so only the DATA deadline can end this.
    const sending = trickle(wire, 'Subject: slow\r\n\r\n' + 'x\r\n'.repeat(200) + '.\r\n', 150, closed);
    expect((await wire.reply()).text).toBe('421 4.4.2 Timeout: message not completed in time, closing connection');
    const at = await closedAt;
    expect(at - started).toBeGreaterThanOrEqual(2000);
    expect(at - started).toBeLessThan(3500);
    await sending;
    expect((await api<{ total: number }>(mailroom, '/api/messages')).body.total).toBe(0);
  });

  it('still closes a silent session after --smtp-timeout, and lets a steady client finish', async () => {
    const silent = await greeted(mailroom.ports.smtp);
    const started = Date.now();
    expect((await silent.wire.reply()).text).toBe('421 4.4.2 Timeout - closing connection');
    expect((await silent.closedAt) - started).toBeLessThan(2500);

    const steady = await greeted(mailroom.ports.smtp);
    for (const line of ['EHLO tester', 'MAIL FROM:<a@example.test>', 'RCPT TO:<b@example.test>']) {
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect((await steady.wire.command(line)).code).toBe(250);
    }
    expect((await steady.wire.command('DATA')).code).toBe(354);
    steady.wire.write('Subject: steady\r\n\r\nhello\r\n.\r\n');
    expect((await steady.wire.reply()).code).toBe(250);
    expect((await steady.wire.command('QUIT')).code).toBe(221);
  });
});

describe('STARTTLS', async () => {
  const mailroom = await useMailroom();

  it('is neither offered nor accepted without --tls', async () => {
    const wire = await SmtpWire.open(mailroom.ports.smtp);
    await wire.reply();
    const ehlo = await wire.command('EHLO tester');
    expect(ehlo.lines.some((line) => line.includes('STARTTLS'))).toBe(false);
    expect((await wire.command('STARTTLS')).text).toBe('500 5.5.2 Error: command not recognized');
    expect((await wire.command('NOOP')).code).toBe(250);
    wire.close();
  });
});
