import { SmtpWire } from './smtp-wire.js';

/**
 * Stores `count` small messages fast: several connections, each pipelining
 * MAIL, RCPT and DATA (RFC 2920) and sending the body after the 354.
 */
export async function bulkSend(port: number, count: number, subject: (i: number) => string, connections = 8): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    const wire = await SmtpWire.open(port);
    await wire.reply();
    await wire.command('EHLO bulk.test');
    for (let i = next++; i < count; i = next++) {
      wire.write('MAIL FROM:<bulk@example.test>\r\nRCPT TO:<inbox@example.test>\r\nDATA\r\n');
      for (let r = 0; r < 3; r++) await wire.reply();
      const reply = await wire.command(`From: bulk@example.test\r\nTo: inbox@example.test\r\nSubject: ${subject(i)}\r\n\r\nMessage number ${i}.\r\n.`);
      if (reply.code !== 250) throw new Error(`message ${i}: ${reply.text}`);
    }
    await wire.command('QUIT');
  };
  await Promise.all(Array.from({ length: connections }, worker));
}
