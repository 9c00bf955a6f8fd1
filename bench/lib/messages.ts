import { randomBytes } from 'node:crypto';

/** One test message, prepared before the run so that building it costs the timed loop nothing. */
export interface BenchMessage {
  /** Unique per message: the live event for it is found by this. */
  subject: string;
  mailFrom: string;
  rcptTo: string;
  /** Dot-stuffed content and the end-of-data line, exactly what goes out after the 354. */
  wire: Buffer;
  /** The content as the server should store it, before stuffing. */
  rawBytes: number;
}

const WORDS = (
  'the order confirmation invoice account password reset shipping address delivery window ' +
  'please review attached summary below thanks regards team support ticket update status ' +
  'customer payment received refund request schedule meeting tomorrow report monthly weekly'
).split(' ');

/** Who message number `seq` goes to: its envelope recipient and its To header. */
export type Recipient = (seq: number) => { name: string; address: string };

const FIFTY_USERS: Recipient = (seq) => ({ name: `User ${seq % 50}`, address: `user${seq % 50}@example.test` });

/** A message's content as the server should store it, before dot-stuffing, and the envelope it goes under. */
export interface MessageContent {
  subject: string;
  mailFrom: string;
  rcptTo: string;
  content: string;
}

/** Realistic-looking mail of about `size` bytes: the usual headers and a body of text lines, one at a time. */
export function* messageContents(label: string, count: number, size: number, recipient: Recipient = FIFTY_USERS): Generator<MessageContent> {
  // A random run tag keeps subjects unique even against mail left over from another run.
  const run = randomBytes(4).toString('hex');
  const date = new Date().toUTCString().replace('GMT', '+0000');
  for (let seq = 0; seq < count; seq++) {
    const token = `${label}-${run}-${seq}`;
    const { name, address: rcptTo } = recipient(seq);
    const subject = `Your order ${token} has shipped`;
    const head = [
      'From: "Bench Sender" <sender@example.test>',
      `To: "${name}" <${rcptTo}>`,
      `Subject: ${subject}`,
      `Date: ${date}`,
      `Message-ID: <${token}@example.test>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 7bit',
      '',
      '',
    ].join('\r\n');
    yield { subject, mailFrom: 'sender@example.test', rcptTo, content: head + bodyText(seq, size - head.length) };
  }
}

/** The messages of `messageContents`, ready to send. */
export function makeMessages(label: string, count: number, size: number, recipient: Recipient = FIFTY_USERS): BenchMessage[] {
  const messages: BenchMessage[] = [];
  for (const { subject, mailFrom, rcptTo, content } of messageContents(label, count, size, recipient)) {
    // RFC 5321 4.5.2: a line starting with a dot gets one more; none do here, but stay correct.
    const stuffed = content.replace(/(^|\r\n)\./g, '$1..');
    messages.push({
      subject,
      mailFrom,
      rcptTo,
      wire: Buffer.from(`${stuffed}.\r\n`, 'latin1'),
      rawBytes: Buffer.byteLength(content, 'latin1'),
    });
  }
  return messages;
}

/** Lines of up to 72 characters, each ending in CRLF, together at most `bytes` long. */
function bodyText(seed: number, bytes: number): string {
  let state = (seed * 2654435761) >>> 0;
  const lines: string[] = [];
  let used = 0;
  let line = '';
  while (used + line.length + 2 < bytes) {
    // Park-Miller: varied but repeatable text without paying for crypto randomness.
    state = (state * 48271) % 2147483647 || 1;
    const word = WORDS[state % WORDS.length]!;
    if (line.length + word.length + 1 > 72) {
      lines.push(line);
      used += line.length + 2;
      line = '';
    }
    line = line ? `${line} ${word}` : word;
  }
  return lines.map((l) => `${l}\r\n`).join('');
}
