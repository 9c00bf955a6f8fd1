import type { BenchMessage } from './messages.js';

/*
 * A mailbox of everyday mail for the IMAP benchmark, the same bytes on every
 * run: message i depends on i alone, so the first N of a larger corpus are
 * the N of a smaller one. About 4 KB each: a few Received lines, From/To and
 * often Cc with some encoded-word names, subjects with Re:/Fwd: prefixes,
 * Date headers in many zones, and three shapes of body: text/plain, a
 * quoted-printable multipart/alternative (text and HTML), and
 * multipart/mixed with a small base64 PDF. A few percent hold SEARCH_WORD in
 * their text, and only there, so that a TEXT search has a known hit rate.
 */

/** In the text of about 3% of the messages (in varied case), in no header and no other message. */
export const SEARCH_WORD = 'reconciliation';
const WORD_SHARE = 0.03;

export interface CorpusMessage extends BenchMessage {
  /** The message as stored (no dot-stuffing, no final dot): what Dovecot's Maildir holds. */
  raw: Buffer;
  shape: 'plain' | 'alternative' | 'attachment';
  hasWord: boolean;
}

/** Park-Miller, seeded per message: varied but repeatable, and cheap. */
class Random {
  private state: number;

  constructor(seed: number) {
    this.state = ((seed * 2654435761) % 2147483647) || 1;
    // The first draws of nearby seeds are alike; a few rounds spread them.
    for (let i = 0; i < 3; i++) this.next();
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state * 48271) % 2147483647;
    return (this.state - 1) / 2147483646;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

const PEOPLE: readonly { name: string; address: string }[] = [
  { name: 'Alice Martin', address: 'alice.martin@example.com' },
  { name: 'Bob Chen', address: 'bob@chen.example.org' },
  { name: 'Carol Díaz', address: 'carol.diaz@example.net' },
  { name: 'Dmitri Volkov', address: 'dvolkov@example.com' },
  { name: 'Emma O\'Brien', address: 'emma.obrien@example.ie' },
  { name: 'François Dubois', address: 'f.dubois@example.fr' },
  { name: 'Grace Hopper', address: 'grace@navy.example.mil' },
  { name: 'Hiro Tanaka', address: 'tanaka.hiro@example.jp' },
  { name: 'Ingrid Sørensen', address: 'ingrid@example.dk' },
  { name: 'Jamal Wright', address: 'jamal.wright@example.com' },
  { name: 'Support Team', address: 'support@helpdesk.example.com' },
  { name: 'Billing', address: 'billing@shop.example.com' },
  { name: 'Build Bot', address: 'ci-noreply@build.example.dev' },
  { name: 'Lena Fischer', address: 'lena.fischer@example.de' },
  { name: 'Marco Rossi', address: 'marco@rossi.example.it' },
  { name: 'Nadia Haddad', address: 'nadia.haddad@example.com' },
];

const TOPICS: readonly ((r: Random) => string)[] = [
  (r) => `Invoice ${10_000 + r.int(90_000)} for ${r.pick(MONTHS)}`,
  (r) => `Your order #${100_000 + r.int(900_000)} has shipped`,
  () => 'Quarterly report draft',
  (r) => `Meeting notes ${r.pick(DAYS)}`,
  () => 'Password reset request',
  (r) => `[ticket ${1000 + r.int(9000)}] Cannot log in to the portal`,
  () => 'Team offsite planning',
  (r) => `Build #${r.int(5000)} failed on main`,
  () => 'Welcome to the team!',
  () => 'Café opening hours — updated',
  () => 'Lunch on Friday?',
  (r) => `Contract renewal ${2024 + r.int(3)}`,
];

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** Offsets in minutes, some with the zone comment mail clients add. */
const ZONES: readonly { minutes: number; comment: string }[] = [
  { minutes: 0, comment: '' },
  { minutes: 0, comment: ' (UTC)' },
  { minutes: -300, comment: '' },
  { minutes: -480, comment: ' (PST)' },
  { minutes: -420, comment: '' },
  { minutes: 60, comment: '' },
  { minutes: 120, comment: ' (CEST)' },
  { minutes: 330, comment: '' },
  { minutes: 540, comment: ' (JST)' },
  { minutes: -180, comment: '' },
  { minutes: 600, comment: '' },
  { minutes: 345, comment: '' },
];

const WORDS = (
  'the order confirmation invoice account password reset shipping address delivery window ' +
  'please review attached summary below thanks regards team support ticket update status ' +
  'customer payment received refund request schedule meeting tomorrow report monthly weekly ' +
  'budget forecast figures draft final version agenda minutes action items follow up deadline ' +
  'project release deploy server outage incident resolved pending approval contract renewal'
).split(' ');

/** 2024-01-01T00:00:00Z in seconds. */
const BASE_TIME = 1_704_067_200;
/** A prime: i * 7919 mod it is different for every i below it, so no two Dates are equal (ties would test tie-breaking, not speed). */
const DATE_MODULUS = 1_000_003;

function encodedWord(text: string): string {
  return /^[\x20-\x7e]*$/.test(text) ? text : `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

function mailbox(person: { name: string; address: string }): string {
  const name = encodedWord(person.name);
  return `${name === person.name ? `"${name.replace(/["\\]/g, '\\$&')}"` : name} <${person.address}>`;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** An RFC 5322 date for the instant `seconds`, written in the zone's local time. */
function dateHeader(seconds: number, zone: { minutes: number; comment: string }): string {
  const local = new Date((seconds + zone.minutes * 60) * 1000);
  const sign = zone.minutes < 0 ? '-' : '+';
  const offset = Math.abs(zone.minutes);
  return (
    `${DAYS[local.getUTCDay()]}, ${local.getUTCDate()} ${MONTHS[local.getUTCMonth()]} ${local.getUTCFullYear()} ` +
    `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())} ` +
    `${sign}${pad(Math.floor(offset / 60))}${pad(offset % 60)}${zone.comment}`
  );
}

/** Paragraphs of sentences in lines of up to 72 characters, together about `bytes` long. */
function paragraphs(r: Random, bytes: number, withWord: boolean): string[] {
  const out: string[] = [];
  let used = 0;
  // A word with its space takes at most ~16 bytes here, so the text always gets this far.
  let wordAt = withWord ? r.int(Math.floor(bytes / 20)) : -1;
  while (used < bytes) {
    // Wrapped as the words come: generating 80 MB of text for the larger run is most of the set-up time.
    const lines: string[] = [];
    let line = '';
    const add = (word: string): void => {
      if (line.length + 1 + word.length > 72) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    };
    for (let s = 2 + r.int(4); s > 0; s--) {
      for (let w = 5 + r.int(10); w > 0; w--) {
        const word = wordAt-- === 0 ? r.pick([SEARCH_WORD, 'Reconciliation', 'RECONCILIATION']) : r.pick(WORDS);
        add(w === 1 ? `${word}.` : line === '' || line.endsWith('.') ? `${word[0]!.toUpperCase()}${word.slice(1)}` : word);
      }
      // Now and then a non-ASCII word, so quoted-printable has something to encode.
      if (r.next() < 0.1) add(`${r.pick(['Café', 'Naïve', '€20', 'Zürich'])}.`);
    }
    lines.push(line);
    const paragraph = lines.join('\r\n');
    out.push(paragraph);
    used += paragraph.length + 4;
  }
  return out;
}

/** RFC 2045 §6.7 quoted-printable of UTF-8 text with CRLF line ends, soft breaks keeping lines within 76. */
function quotedPrintable(text: string): string {
  return text
    .split('\r\n')
    .map((line) => {
      // One char per UTF-8 byte; "=", anything not printable ASCII and a space ending the line get escaped.
      let encoded = Buffer.from(line, 'utf8')
        .toString('latin1')
        .replace(/[^\x20-\x3c\x3e-\x7e]| $/g, (c) => `=${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
      const out: string[] = [];
      while (encoded.length > 76) {
        let cut = 75;
        // Never split an =XX escape.
        const escape = encoded.lastIndexOf('=', cut - 1);
        if (escape > cut - 3) cut = escape;
        out.push(`${encoded.slice(0, cut)}=`);
        encoded = encoded.slice(cut);
      }
      out.push(encoded);
      return out.join('\r\n');
    })
    .join('\r\n');
}

function html(paragraphs: readonly string[]): string {
  const body = paragraphs.map((p) => `<p style="margin:0 0 1em 0">${p.replace(/\r\n/g, ' ').replace(/&/g, '&amp;')}</p>`);
  return ['<!DOCTYPE html>', '<html><head><meta charset="utf-8"></head>', '<body style="font-family:sans-serif">', ...body, '</body></html>'].join('\r\n');
}

/** Bytes that look like a small PDF: a header, then noise that no text search can match once decoded. */
function pdf(r: Random, size: number): Buffer {
  const bytes = Buffer.alloc(size);
  bytes.write('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1');
  for (let i = 15; i < size; i++) bytes[i] = r.int(256);
  return bytes;
}

function base64Lines(data: Buffer): string {
  return (data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

function makeMessage(seq: number): CorpusMessage {
  const r = new Random(seq + 1);
  const from = r.pick(PEOPLE);
  const to = Array.from({ length: 1 + r.int(3) }, () => r.pick(PEOPLE));
  const cc = r.next() < 0.3 ? Array.from({ length: 1 + r.int(2) }, () => r.pick(PEOPLE)) : [];
  const topic = r.pick(TOPICS)(r);
  const prefix = r.next();
  const reply = prefix < 0.25 || (prefix >= 0.32 && prefix < 0.35);
  const subject = prefix < 0.25 ? `Re: ${topic}` : prefix < 0.32 ? `Fwd: ${topic}` : reply ? `RE: Re: ${topic}` : topic;
  const seconds = BASE_TIME + ((seq * 7919) % DATE_MODULUS) * 61;
  const host = from.address.split('@')[1]!;
  const messageId = `<${seq}.${(seconds * 31 + seq).toString(36)}@${host}>`;
  const hasWord = r.next() < WORD_SHARE;
  const kind = r.next();
  const shape: CorpusMessage['shape'] = kind < 0.6 ? 'plain' : kind < 0.85 ? 'alternative' : 'attachment';

  const head = [
    `Return-Path: <${from.address}>`,
    `Received: from mail.${host} (mail.${host} [192.0.2.${1 + (seq % 250)}])\r\n\tby mx.example.test with ESMTPS id ${(seq * 977).toString(36)}\r\n\tfor <${to[0]!.address}>; ${dateHeader(seconds + 2, ZONES[0]!)}`,
    `Date: ${dateHeader(seconds, r.pick(ZONES))}`,
    `From: ${mailbox(from)}`,
    `To: ${to.map(mailbox).join(',\r\n ')}`,
    ...(cc.length > 0 ? [`Cc: ${cc.map(mailbox).join(', ')}`] : []),
    `Subject: ${encodedWord(subject)}`,
    `Message-ID: ${messageId}`,
    ...(reply ? [`In-Reply-To: <parent-${seq}@${host}>`, `References: <root-${seq}@${host}>\r\n <parent-${seq}@${host}>`] : []),
    ...(r.next() < 0.4 ? [`X-Mailer: ${r.pick(['Thunderbird 115.6.0', 'Apple Mail (2.3731)', 'Microsoft Outlook 16.0', 'Mutt/2.2.12'])}`] : []),
    'MIME-Version: 1.0',
  ];
  const greeting = `Hi ${to[0]!.name.split(' ')[0]},`;
  const signature = `-- \r\n${from.name}\r\n${from.address}`;
  // Sizes chosen so the whole message comes to about 4 KB, a little more or less each time.
  const target = 3200 + r.int(1400);
  let body: string[];
  if (shape === 'plain') {
    const text = [greeting, ...paragraphs(r, target - 1000, hasWord), signature].join('\r\n\r\n');
    head.push('Content-Type: text/plain; charset=utf-8; format=flowed', 'Content-Transfer-Encoding: 8bit');
    body = [text];
  } else if (shape === 'alternative') {
    const boundary = `----=_Part_${seq}_${r.int(1e9)}`;
    const text = paragraphs(r, (target - 1300) / 2, hasWord);
    head.push(`Content-Type: multipart/alternative;\r\n boundary="${boundary}"`);
    body = [
      'This is a multi-part message in MIME format.',
      `--${boundary}`,
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      quotedPrintable([greeting, ...text, signature].join('\r\n\r\n')),
      `--${boundary}`,
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      quotedPrintable(html([greeting, ...text])),
      `--${boundary}--`,
      '',
    ];
  } else {
    const boundary = `b1_${(seq * 104729).toString(16)}`;
    const text = [greeting, ...paragraphs(r, target - 2400, hasWord), signature].join('\r\n\r\n');
    const name = `${r.pick(['invoice', 'report', 'statement', 'receipt'])}-${seq}.pdf`;
    head.push(`Content-Type: multipart/mixed; boundary="${boundary}"`);
    body = [
      `--${boundary}`,
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      text,
      `--${boundary}`,
      `Content-Type: application/pdf; name="${name}"`,
      `Content-Disposition: attachment; filename="${name}"`,
      'Content-Transfer-Encoding: base64',
      '',
      base64Lines(pdf(r, 700 + r.int(500))),
      `--${boundary}--`,
      '',
    ];
  }
  const raw = Buffer.from(`${head.join('\r\n')}\r\n\r\n${body.join('\r\n')}\r\n`, 'utf8');
  // RFC 5321 §4.5.2: SMTP needs one more dot on a line that starts with one ("-- " and ".pdf" never do, but stay correct).
  const stuffed = raw.toString('latin1').replace(/(^|\r\n)\./g, '$1..');
  return {
    subject,
    mailFrom: from.address,
    rcptTo: to[0]!.address,
    wire: Buffer.from(`${stuffed}.\r\n`, 'latin1'),
    rawBytes: raw.length,
    raw,
    shape,
    hasWord,
  };
}

/** Messages 0 .. count-1 of the corpus. */
export function makeCorpus(count: number): CorpusMessage[] {
  return Array.from({ length: count }, (_, seq) => makeMessage(seq));
}
