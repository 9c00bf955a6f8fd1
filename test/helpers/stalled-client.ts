import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { ChildMailroom } from './child-mailroom.js';
import { Pop3Client } from './dovecot/pop3-client.js';
import { SmtpWire } from './smtp-wire.js';

/** What a stalled client expects: exact bytes, or one CRLF-ended line matching a pattern (a greeting with a timestamp). */
export type Expected = Buffer | RegExp;

export interface ReadResult {
  /** Octets that arrived, every one of them as expected. */
  received: number;
  /** Whether every expected part arrived before the connection closed. */
  complete: boolean;
}

/**
 * A raw client that pipelines commands and does not read the replies until
 * told to, as a hostile or broken client would. Reading, it checks each
 * octet against what is expected as it arrives, so a gigabyte of replies is
 * checked without being kept.
 */
export class StalledClient {
  private constructor(readonly socket: Socket) {}

  static async open(port: number): Promise<StalledClient> {
    const socket = connect(port, '127.0.0.1');
    socket.pause();
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    return new StalledClient(socket);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /**
   * Starts reading; resolves when the server closes the connection, and
   * rejects at the first octet that differs from `expected` or comes after it.
   */
  read(expected: Iterable<Expected>, timeoutMs = 60_000): Promise<ReadResult> {
    const parts = expected[Symbol.iterator]();
    let part: Expected | undefined = parts.next().value;
    let offset = 0;
    let line = '';
    let received = 0;
    const next = (): void => {
      part = parts.next().value;
      offset = 0;
      line = '';
      if (part instanceof Buffer && part.length === 0) next();
    };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`no close within ${timeoutMs} ms; ${received} octets received`)), timeoutMs);
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        this.socket.off('data', onData).off('close', onClose);
        if (error) {
          this.socket.destroy();
          reject(error);
        } else resolve({ received, complete: part === undefined });
      };
      const onData = (chunk: Buffer): void => {
        let at = 0;
        while (at < chunk.length) {
          if (part === undefined) return finish(new Error(`unexpected octets after the last reply: ${JSON.stringify(chunk.toString('latin1', at, at + 80))}`));
          if (part instanceof RegExp) {
            const eol = chunk.indexOf(0x0a, at);
            const end = eol < 0 ? chunk.length : eol + 1;
            line += chunk.toString('latin1', at, end);
            received += end - at;
            at = end;
            if (eol < 0) continue;
            if (!line.endsWith('\r\n') || !part.test(line.slice(0, -2))) return finish(new Error(`line ${JSON.stringify(line)} does not match ${part}`));
            next();
            continue;
          }
          const n = Math.min(part.length - offset, chunk.length - at);
          if (!chunk.subarray(at, at + n).equals(part.subarray(offset, offset + n))) {
            let i = 0;
            while (chunk[at + i] === part[offset + i]) i++;
            const context = (b: Buffer, from: number): string => JSON.stringify(b.toString('latin1', Math.max(0, from - 40), from + 40));
            return finish(new Error(`octet ${received + i} differs: got ${context(chunk, at + i)}, expected ${context(part, offset + i)}`));
          }
          at += n;
          offset += n;
          received += n;
          if (offset === part.length) next();
        }
      };
      const onClose = (): void => finish();
      this.socket.on('data', onData).on('close', onClose);
      this.socket.resume();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** `count` parts, each `part` again: a reply pipelined that many times. */
/** `first, second` `count` times: RETR then NACK in POP2, RETR then TOP in POP3. */
export function* repeatPair<T>(first: T, second: T, count: number): Generator<T> {
  for (let i = 0; i < count; i++) {
    yield first;
    yield second;
  }
}

/** Logs in as `user` over POP3 and answers STAT, over a client that reads. */
export async function pop3Stat(port: number, user: string): Promise<string> {
  const client = await Pop3Client.connect(port);
  await client.command(`USER ${user}`);
  await client.command('PASS pw');
  const reply = await client.command('STAT');
  await client.command('QUIT');
  client.close();
  return reply;
}

export function* repeat<T>(part: T, count: number): Generator<T> {
  for (let i = 0; i < count; i++) yield part;
}

/** The highest RSS of the process over `ms`, sampled every 50 ms. */
export async function peakRss(child: ChildMailroom, ms: number): Promise<number> {
  let peak = child.rss();
  for (const end = Date.now() + ms; Date.now() < end; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    peak = Math.max(peak, child.rss());
  }
  return peak;
}

export const MiB = 1024 * 1024;

/**
 * A message of about `size` octets of 75-character text lines, every 97th
 * starting with a dot, ending lines with `eol` (the last with CRLF, so the
 * end of DATA is found), sent over SMTP as is. Returns its id.
 */
export async function sendLarge(smtpPort: number, size: number, eol: '\r\n' | '\n', subject = 'large'): Promise<string> {
  const body = `Subject: ${subject}${eol}To: big@example.test${eol}${eol}${largeText(size, eol)}`;
  const wire = await SmtpWire.open(smtpPort);
  await wire.reply();
  await wire.command('EHLO stall.test');
  await wire.command('MAIL FROM:<a@example.test>');
  await wire.command('RCPT TO:<big@example.test>');
  await wire.command('DATA');
  wire.write(`${body}\r\n`);
  const reply = await wire.command('.');
  wire.close();
  if (reply.code !== 250) throw new Error(`SMTP refused the message: ${reply.text}`);
  return /queued as (\S+)/.exec(reply.text)![1]!;
}

const texts = new Map<string, string>();

/** The body lines of sendLarge, dot-stuffed for SMTP, without the last line end. */
function largeText(size: number, eol: string): string {
  const key = `${size}${eol}`;
  let text = texts.get(key);
  if (text === undefined) {
    const lines: string[] = [];
    let total = 0;
    for (let i = 0; total < size; i++) {
      const line = `${i % 97 === 0 ? '.' : ''}${`line ${i} `.padEnd(75, 'abcdefghij'.charAt(i % 10))}`;
      lines.push(line.startsWith('.') ? `.${line}` : line);
      total += line.length + eol.length;
    }
    text = lines.join(eol);
    texts.set(key, text);
  }
  return text;
}

export async function rawOf(apiUrl: string, id: string): Promise<Buffer> {
  const response = await fetch(`${apiUrl}/api/messages/${id}/raw`);
  if (!response.ok) throw new Error(`raw of ${id}: ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

/** The stored bytes with CRLF line ends, as POP2 sends them and POP3 counts them. */
export function crlf(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('latin1').replace(/(?<!\r)\n/g, '\r\n'), 'latin1');
}

/** A whole POP3 RETR reply (RFC 1939 §3): status, byte-stuffed CRLF form, the lone dot. */
export function retrReply(raw: Buffer): Buffer {
  const wire = crlf(raw);
  let text = wire.toString('latin1').replace(/^\./, '..').replace(/\n\./g, '\n..');
  if (wire.length > 0 && !text.endsWith('\n')) text += '\r\n';
  return Buffer.from(`+OK ${wire.length} octets\r\n${text}.\r\n`, 'latin1');
}

/** A whole POP3 TOP reply (RFC 1939 §7), found over the CRLF form: the header, the empty line, `lines` lines. */
export function topReply(raw: Buffer, lines: number): Buffer {
  const wire = crlf(raw);
  const blank = wire.indexOf('\r\n\r\n');
  let end = wire.length;
  if (blank >= 0) {
    end = blank + 4;
    for (let n = 0; n < lines && end < wire.length; n++) {
      const eol = wire.indexOf(0x0a, end);
      end = eol < 0 ? wire.length : eol + 1;
    }
  }
  let text = wire.toString('latin1', 0, end).replace(/^\./, '..').replace(/\n\./g, '\n..');
  if (end > 0 && !text.endsWith('\n')) text += '\r\n';
  return Buffer.from(`+OK Top of message follows\r\n${text}.\r\n`, 'latin1');
}

/** GET /api/health's JSON. */
export async function health(apiUrl: string): Promise<unknown> {
  return (await fetch(`${apiUrl}/api/health`)).json();
}
