import { describe, expect, it } from 'vitest';
import { ConfigError, startMailroom } from 'mailroom-catcher';
import { api } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

describe('startMailroom from code', () => {
  it('runs two instances in one process without either seeing the other', async () => {
    const [a, b] = await Promise.all([
      startMailroom({ smtpPort: 0, httpPort: 0, pop3Port: 0, imapPort: 0, logLevel: 'silent' }),
      startMailroom({ smtpPort: 0, httpPort: 0, pop3Port: 0, imapPort: 0, logLevel: 'silent', maxMessages: 3 }),
    ]);
    try {
      expect(new Set([a.ports.smtp, a.ports.http, a.ports.pop3, b.ports.smtp, b.ports.http, b.ports.pop3]).size).toBe(6);
      expect(a.apiUrl).toBe(`http://127.0.0.1:${a.ports.http}`);
      await send(a, { subject: 'to a' });
      await send(b, { subject: 'to b' });
      await send(b, { subject: 'to b again' });
      const subjects = async (m: typeof a) =>
        (await api<{ messages: { subject: string }[] }>(m, '/api/messages')).body.messages.map((x) => x.subject);
      expect(await subjects(a)).toStrictEqual(['to a']);
      expect(await subjects(b)).toStrictEqual(['to b again', 'to b']);
      expect((await api<{ limits: { maxMessages: number } }>(b, '/api/info')).body.limits.maxMessages).toBe(3);
      await a.close();
      await send(b, { subject: 'b still works after a closed' });
      expect(await subjects(b)).toHaveLength(3);
    } finally {
      await Promise.allSettled([a.close(), b.close()]);
    }
  });

  it('rejects bad options with the same errors as the CLI', async () => {
    await expect(startMailroom({ smtpPort: 70000 })).rejects.toThrow(ConfigError);
    await expect(startMailroom({ smtpPort: 0, httpPort: 0, pop3Port: 0, imapPort: 0, maxStoreBytes: 'huge' })).rejects.toThrow(
      '--max-store-bytes: expected a size such as 1048576, 512KiB, 25MiB or 1GiB, got "huge"',
    );
  });

  it('frees its ports on close', async () => {
    const first = await startMailroom({ smtpPort: 0, httpPort: 0, pop3Port: 0, imapPort: 0, logLevel: 'silent' });
    const ports = first.ports;
    await first.close();
    const again = await startMailroom({ smtpPort: ports.smtp, httpPort: ports.http, pop3Port: ports.pop3, imapPort: ports.imap, logLevel: 'silent' });
    expect(again.ports).toStrictEqual(ports);
    await again.close();
  });
});
