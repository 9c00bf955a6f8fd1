import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { Mailroom } from 'mailroom-catcher';
import { describe, expect, it } from 'vitest';
import { api, mailroomForTest } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';
import { SmtpWire } from '../helpers/smtp-wire.js';

/** A raw POP2 connection: replies are read line by line, a RETR as an exact octet count. */
class Pop2Wire {
  private buffer = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | null = null;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  static async open(mailroom: Mailroom): Promise<Pop2Wire> {
    const socket = connect(mailroom.ports.pop2!, mailroom.host);
    const wire = new Pop2Wire(socket);
    await once(socket, 'connect');
    return wire;
  }

  private async until(ready: () => boolean): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!ready()) {
      if (this.ended) throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer.toString('latin1'))}`);
      if (Date.now() > deadline) throw new Error(`timed out; unread: ${JSON.stringify(this.buffer.toString('latin1'))}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  async line(): Promise<string> {
    await this.until(() => this.buffer.includes('\r\n'));
    const eol = this.buffer.indexOf('\r\n');
    const line = this.buffer.subarray(0, eol).toString('latin1');
    this.buffer = this.buffer.subarray(eol + 2);
    return line;
  }

  async bytes(count: number): Promise<Buffer> {
    await this.until(() => this.buffer.length >= count);
    const out = this.buffer.subarray(0, count);
    this.buffer = this.buffer.subarray(count);
    return out;
  }

  async command(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.line();
  }

  /** RETR, reading exactly `size` octets: POP2 sends no terminator and no byte-stuffing. */
  async retr(size: number): Promise<Buffer> {
    this.socket.write('RETR\r\n');
    return this.bytes(size);
  }

  async closed(): Promise<string> {
    await this.until(() => this.ended);
    return this.buffer.toString('latin1');
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A message with a bare LF and lines that start with dots, sent over the wire as is. */
async function sendAwkward(mailroom: Mailroom, to = 'ann@example.test'): Promise<string> {
  const wire = await SmtpWire.open(mailroom.ports.smtp);
  await wire.reply();
  await wire.command('EHLO pop2.test');
  await wire.command('MAIL FROM:<a@example.test>');
  await wire.command(`RCPT TO:<${to}>`);
  await wire.command('DATA');
  const reply = await wire.command(`Subject: dots\r\nTo: ${to}\r\n\r\n..leading dot\nbare LF line\r\n...two dots\r\n.`);
  wire.close();
  return /queued as (\S+)/.exec(reply.text)![1]!;
}

/** The message as POP2 must send it: the stored bytes with CRLF line ends. */
async function crlfBytes(mailroom: Mailroom, id: string): Promise<Buffer> {
  const raw = Buffer.from(await (await fetch(`${mailroom.apiUrl}/api/messages/${id}/raw`)).arrayBuffer()).toString('latin1');
  return Buffer.from(raw.replace(/\r?\n/g, '\r\n'), 'latin1');
}

async function ids(mailroom: Mailroom): Promise<string[]> {
  const list = await api<{ messages: { id: string }[] }>(mailroom, '/api/messages');
  return list.body.messages.map((m) => m.id).sort();
}

describe('POP2 (RFC 937)', () => {
  it('is off unless --pop2-port is set', async () => {
    const mailroom = await mailroomForTest();
    expect(mailroom.ports.pop2).toBeUndefined();
    const info = await api<{ ports: Record<string, number> }>(mailroom, '/api/info');
    expect(info.body.ports).not.toHaveProperty('pop2');
  });

  it('walks HELO, READ, RETR, ACKS, NACK, ACKD, FOLD and QUIT; closing the folder deletes exactly the ACKD messages', async () => {
    const mailroom = await mailroomForTest({ pop2Port: 0 });
    expect(mailroom.ports.pop2).toEqual(expect.any(Number));
    const info = await api<{ ports: Record<string, number> }>(mailroom, '/api/info');
    expect(info.body.ports.pop2).toBe(mailroom.ports.pop2);

    const first = await sendAwkward(mailroom);
    const second = await send(mailroom, { subject: 'second', to: 'bob@example.test' });
    const third = await send(mailroom, { subject: 'third', to: 'carol@example.test' });
    const [one, two, three] = await Promise.all([first, second, third].map((id) => crlfBytes(mailroom, id)));

    const pop = await Pop2Wire.open(mailroom);
    expect(await pop.line()).toMatch(/^\+ POP2 \S+ Mailroom server ready$/);
    expect(await pop.command('HELO tester secret')).toBe('#3');
    // READ without a number reads the current message, which HELO set to 1.
    expect(await pop.command('READ')).toBe(`=${one!.length}`);
    // Length-counted: the dot lines are not stuffed, the bare LF became CRLF, nothing follows.
    expect(await pop.retr(one!.length)).toStrictEqual(one);
    expect(await pop.command('ACKS')).toBe(`=${two!.length}`);
    expect(await pop.retr(two!.length)).toStrictEqual(two);
    expect(await pop.command('NACK')).toBe(`=${two!.length}`);
    expect(await pop.retr(two!.length)).toStrictEqual(two);
    expect(await pop.command('ACKD')).toBe(`=${three!.length}`);
    // Deleted within the session: numbers do not shift, message 2 now has no length.
    expect(await pop.command('READ 2')).toBe('=0');
    expect(await pop.command('READ 3')).toBe(`=${three!.length}`);
    expect(await pop.retr(three!.length)).toStrictEqual(three);
    expect(await pop.command('ACKS')).toBe('=0');
    expect(await pop.command('READ')).toBe('=0');
    expect(await pop.command('READ 99')).toBe('=0');
    expect(await pop.command('READ 1')).toBe(`=${one!.length}`);
    // Nothing is deleted while the folder stays open.
    expect(await ids(mailroom)).toStrictEqual([first, second, third].sort());
    // Only INBOX exists: another folder is empty. Leaving INBOX closes it: the ACKD message goes.
    expect(await pop.command('FOLD drafts')).toBe('#0');
    expect(await pop.command('READ 1')).toBe('=0');
    expect(await ids(mailroom)).toStrictEqual([first, third].sort());
    // Selected again, INBOX is numbered afresh and shows mail that arrived meanwhile.
    const fourth = await send(mailroom, { subject: 'fourth', to: 'dave@example.test' });
    const four = await crlfBytes(mailroom, fourth);
    expect(await pop.command('FOLD inbox')).toBe('#3');
    expect(await pop.command('READ 2')).toBe(`=${three!.length}`);
    expect(await pop.command('READ 3')).toBe(`=${four!.length}`);
    expect(await pop.retr(four!.length)).toStrictEqual(four);
    expect(await pop.command('ACKD')).toBe('=0');
    expect(await ids(mailroom)).toStrictEqual([first, third, fourth].sort());
    expect(await pop.command('QUIT')).toMatch(/^\+ POP2 \S+ signing off$/);
    expect(await pop.closed()).toBe('');
    expect(await ids(mailroom)).toStrictEqual([first, third].sort());
  });

  it('deletes nothing when the connection drops, and releases the maildrop', async () => {
    const mailroom = await mailroomForTest({ pop2Port: 0 });
    const id = await send(mailroom, { subject: 'keep me' });
    const size = (await crlfBytes(mailroom, id)).length;
    const pop = await Pop2Wire.open(mailroom);
    await pop.line();
    expect(await pop.command('HELO dropper pw')).toBe('#1');
    expect(await pop.command('READ 1')).toBe(`=${size}`);
    await pop.retr(size);
    expect(await pop.command('ACKD')).toBe('=0');
    pop.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(await ids(mailroom)).toStrictEqual([id]);
    const again = await Pop2Wire.open(mailroom);
    await again.line();
    expect(await again.command('HELO dropper pw')).toBe('#1');
    expect(await again.command('QUIT')).toMatch(/^\+ /);
  });

  it('shows an address only the mail addressed to it; other names see everything', async () => {
    const mailroom = await mailroomForTest({ pop2Port: 0 });
    const toAnn = await sendAwkward(mailroom);
    const ccAnn = await send(mailroom, { subject: 'cc', to: 'x@example.test', cc: 'Ann <ANN@example.test>' });
    await send(mailroom, { subject: 'other', to: 'x@example.test' });
    const ann = await Pop2Wire.open(mailroom);
    await ann.line();
    expect(await ann.command('HELO ann@example.test pw')).toBe('#2');
    expect(await ann.command('READ 2')).toBe(`=${(await crlfBytes(mailroom, ccAnn)).length}`);
    expect(await ann.command('READ 1')).toBe(`=${(await crlfBytes(mailroom, toAnn)).length}`);
    expect(await ann.command('READ 3')).toBe('=0');
    await ann.command('QUIT');
    const all = await Pop2Wire.open(mailroom);
    await all.line();
    expect(await all.command('HELO everyone pw')).toBe('#3');
    await all.command('QUIT');
  });

  it('checks HELO against --pop3-auth and shares the POP3 maildrop lock', async () => {
    const mailroom = await mailroomForTest({ pop2Port: 0, pop3Auth: { alice: 'tanstaaf' } });
    await send(mailroom, { subject: 'for alice' });
    const pop = await Pop2Wire.open(mailroom);
    await pop.line();
    expect(await pop.command('HELO alice wrong')).toBe('- Invalid user name or password');
    expect(await pop.command('HELO mallory tanstaaf')).toBe('- Invalid user name or password');
    expect(await pop.command('HELO alice tanstaaf')).toBe('#1');
    const second = await Pop2Wire.open(mailroom);
    await second.line();
    expect(await second.command('HELO alice tanstaaf')).toBe('- Maildrop already locked by another session');
    const pop3 = connect(mailroom.ports.pop3, mailroom.host);
    pop3.setEncoding('latin1');
    let received = '';
    pop3.on('data', (chunk: string) => (received += chunk));
    pop3.write('USER alice\r\nPASS tanstaaf\r\nQUIT\r\n');
    await once(pop3, 'close');
    expect(received).toContain('-ERR [IN-USE]');
    await pop.command('QUIT');
    expect(await second.command('HELO alice tanstaaf')).toBe('#1');
    await second.command('QUIT');
  });

  it('answers bad commands, states and numbers with "-" and goes on; ten errors in a row close', async () => {
    const mailroom = await mailroomForTest({ pop2Port: 0 });
    const id = await send(mailroom, { subject: 'keep me' });
    const size = (await crlfBytes(mailroom, id)).length;
    const pop = await Pop2Wire.open(mailroom);
    await pop.line();
    expect(await pop.command('READ')).toBe('- Not logged in yet');
    expect(await pop.command('RETR')).toBe('- Not logged in yet');
    expect(await pop.command('ACKS')).toBe('- Not logged in yet');
    expect(await pop.command('FOLD INBOX')).toBe('- Not logged in yet');
    expect(await pop.command('FROB')).toBe('- Unknown command');
    expect(await pop.command('HELO onlyuser')).toBe('- HELO needs a user name and a password');
    expect(await pop.command('helo u p')).toBe('#1');
    expect(await pop.command('HELO u p')).toBe('- Already logged in');
    expect(await pop.command('RETR')).toBe('- Send READ first');
    expect(await pop.command('ACKD')).toBe('- No message was retrieved');
    expect(await pop.command('READ x')).toBe('- Invalid message number');
    expect(await pop.command('READ 0')).toBe('- Invalid message number');
    expect(await pop.command('READ 1 2')).toBe('- READ takes at most one message number');
    expect(await pop.command('FOLD')).toBe('- FOLD needs one folder name');
    expect(await pop.command('READ 7')).toBe('=0');
    expect(await pop.command('RETR')).toBe('- No message to retrieve');
    expect(await pop.command('NACK')).toBe('- No message was retrieved');
    expect(await pop.command('READ 1')).toBe(`=${size}`);
    await pop.retr(size);
    expect(await pop.command('READ 1')).toBe('- Send ACKS, ACKD or NACK first');
    expect(await pop.command('RETR')).toBe('- Send ACKS, ACKD or NACK first');
    expect(await pop.command('FOLD INBOX')).toBe('- Send ACKS, ACKD or NACK first');
    expect(await pop.command(`READ ${'1'.repeat(600)}`)).toBe('- Line too long');
    expect(await pop.command('NACK')).toBe(`=${size}`);
    pop.socket.write('FOO\r\n'.repeat(10));
    expect((await pop.closed()).split('\r\n')).toStrictEqual([...Array<string>(10).fill('- Unknown command'), '- Too many errors, closing the connection', '']);
    // The session ended without QUIT: nothing was deleted.
    expect(await ids(mailroom)).toStrictEqual([id]);
  });
});
