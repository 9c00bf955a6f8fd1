import { describe, expect, it } from 'vitest';
import { api, mailroomForTest } from '../helpers/mailroom.js';
import { SmtpWire } from '../helpers/smtp-wire.js';

describe('store limits', () => {
  it('keeps the newest 100 of 150 messages with --max-messages 100', async () => {
    const mailroom = await mailroomForTest({ maxMessages: 100 });
    const wire = await SmtpWire.open(mailroom.ports.smtp);
    await wire.reply();
    await wire.command('EHLO evict.test');
    for (let i = 0; i < 150; i++) {
      wire.write(`MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n`);
      await wire.reply();
      await wire.reply();
      await wire.reply();
      expect((await wire.command(`Subject: message ${i}\r\n\r\nbody ${i}\r\n.`)).code).toBe(250);
    }
    wire.close();
    const page = await api<{ total: number; messages: { subject: string }[] }>(mailroom, '/api/messages?limit=1000');
    expect(page.body.total).toBe(100);
    expect(page.body.messages.map((m) => m.subject)).toStrictEqual(Array.from({ length: 100 }, (_, i) => `message ${149 - i}`));
    const info = await api<{ messages: number }>(mailroom, '/api/info');
    expect(info.body.messages).toBe(100);
  });

  it('evicts the oldest messages to stay within --max-store-bytes', async () => {
    const mailroom = await mailroomForTest({ maxStoreBytes: 10_000, maxMessageSize: 5_000 });
    const wire = await SmtpWire.open(mailroom.ports.smtp);
    await wire.reply();
    await wire.command('EHLO evict.test');
    const body = 'x'.repeat(2_980);
    for (let i = 0; i < 5; i++) {
      await wire.command('MAIL FROM:<a@example.com>');
      await wire.command('RCPT TO:<b@example.com>');
      await wire.command('DATA');
      expect((await wire.command(`Subject: m${i}\r\n\r\n${body}\r\n.`)).code).toBe(250);
    }
    wire.close();
    const page = await api<{ total: number; messages: { subject: string }[] }>(mailroom, '/api/messages');
    expect(page.body.messages.map((m) => m.subject)).toStrictEqual(['m4', 'm3', 'm2']);
    expect((await api<{ storeBytes: number }>(mailroom, '/api/info')).body.storeBytes).toBeLessThanOrEqual(10_000);
  });
});
