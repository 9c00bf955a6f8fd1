import { describe, expect, it } from 'vitest';
import { api, useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';
import { SmtpWire } from '../helpers/smtp-wire.js';

interface Mailbox {
  address: string;
  total: number;
  unread: number;
}

// Four messages fill the store, so a later one evicts the oldest.
const mailroom = await useMailroom({ maxMessages: 4 });

const mailboxes = async (): Promise<Mailbox[]> => {
  const response = await api<{ mailboxes: Mailbox[] }>(mailroom, '/api/mailboxes');
  expect(response.status).toBe(200);
  expect(Object.keys(response.body)).toStrictEqual(['mailboxes']);
  return response.body.mailboxes;
};

/** nodemailer lower-cases domains, so an upper-case one goes over the bare wire. */
async function sendUpperCase(): Promise<void> {
  const wire = await SmtpWire.open(mailroom.ports.smtp);
  await wire.reply();
  await wire.command('EHLO mailboxes.test');
  for (const line of ['MAIL FROM:<app@example.com>', 'RCPT TO:<ERIN@EXAMPLE.COM>', 'DATA']) {
    expect((await wire.command(line)).code).toBeLessThan(400);
  }
  expect((await wire.command('Subject: upper case\r\n\r\nbody\r\n.')).code).toBe(250);
  await wire.command('QUIT');
  wire.close();
}

const mailbox = (address: string, total: number, unread: number): Mailbox => ({ address, total, unread });

describe('GET /api/mailboxes', () => {
  it('follows sends, reads, deletes, evictions and delete-all', async () => {
    expect(await mailboxes()).toStrictEqual([]);

    const several = await send(mailroom, { to: 'Bob@example.com, carol@example.com', subject: 'several' });
    await send(mailroom, { to: undefined, bcc: 'Hidden@example.com', subject: 'bcc only' });
    const mixed = await send(mailroom, {
      to: 'bob@example.com',
      cc: 'Dave <Dave@example.com>',
      bcc: 'hidden@example.com',
      subject: 'mixed',
    });
    await sendUpperCase();

    const envelopes = await api<{ messages: { subject: string; envelope: { rcptTo: string[] } }[] }>(mailroom, '/api/messages');
    expect(envelopes.body.messages.map((m) => [m.subject, m.envelope.rcptTo])).toStrictEqual([
      ['upper case', ['ERIN@EXAMPLE.COM']],
      ['mixed', ['bob@example.com', 'Dave@example.com', 'hidden@example.com']],
      ['bcc only', ['Hidden@example.com']],
      ['several', ['Bob@example.com', 'carol@example.com']],
    ]);
    expect(await mailboxes()).toStrictEqual([
      mailbox('bob@example.com', 2, 2),
      mailbox('carol@example.com', 1, 1),
      mailbox('dave@example.com', 1, 1),
      mailbox('erin@example.com', 1, 1),
      mailbox('hidden@example.com', 2, 2),
    ]);
    // A click on a mailbox searches to:<address>, which finds the same messages.
    for (const { address, total, unread } of await mailboxes()) {
      const page = await api<{ total: number; unread: number }>(mailroom, `/api/messages?query=${encodeURIComponent(`to:${address}`)}`);
      expect([address, page.body.total, page.body.unread]).toStrictEqual([address, total, unread]);
    }

    const patched = await api(mailroom, `/api/messages/${several}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ read: true }),
    });
    expect(patched.status).toBe(200);
    expect(await mailboxes()).toStrictEqual([
      mailbox('bob@example.com', 2, 1),
      mailbox('carol@example.com', 1, 0),
      mailbox('dave@example.com', 1, 1),
      mailbox('erin@example.com', 1, 1),
      mailbox('hidden@example.com', 2, 2),
    ]);

    expect((await api(mailroom, `/api/messages/${mixed}`, { method: 'DELETE' })).body).toStrictEqual({ deleted: 1 });
    expect(await mailboxes()).toStrictEqual([
      mailbox('bob@example.com', 1, 0),
      mailbox('carol@example.com', 1, 0),
      mailbox('erin@example.com', 1, 1),
      mailbox('hidden@example.com', 1, 1),
    ]);

    await send(mailroom, { to: 'frank@example.com', subject: 'fills the store' });
    expect(await mailboxes()).toStrictEqual([
      mailbox('bob@example.com', 1, 0),
      mailbox('carol@example.com', 1, 0),
      mailbox('erin@example.com', 1, 1),
      mailbox('frank@example.com', 1, 1),
      mailbox('hidden@example.com', 1, 1),
    ]);

    // Evicts "several", the read message to bob and carol.
    await send(mailroom, { to: 'Carol@example.com', subject: 'evicts the oldest' });
    expect((await api<{ total: number }>(mailroom, '/api/messages')).body.total).toBe(4);
    expect(await mailboxes()).toStrictEqual([
      mailbox('carol@example.com', 1, 1),
      mailbox('erin@example.com', 1, 1),
      mailbox('frank@example.com', 1, 1),
      mailbox('hidden@example.com', 1, 1),
    ]);

    expect((await api(mailroom, '/api/messages', { method: 'DELETE' })).body).toStrictEqual({ deleted: 4 });
    expect(await mailboxes()).toStrictEqual([]);
  });
});
