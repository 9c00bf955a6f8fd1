import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { describe, expect, it, vi } from 'vitest';
import { EventStream, MAX_UNSENT_BYTES } from '../../server/src/api/compat/mailhog/events.js';
import { goJsonPieces } from '../../server/src/api/compat/mailhog/go-encode.js';
import { MAX_NESTING, mailhogMessage, type Content, type Message } from '../../server/src/api/compat/mailhog/message.js';
import { goInt64 } from '../../server/src/api/compat/go-values.js';
import { pageWindow, startLimit } from '../../server/src/api/compat/mailhog/paging.js';
import { partBody, partHeaders, partIndex } from '../../server/src/api/compat/mailhog/part-download.js';
import { decodeReleaseConfig, refusal, type ReleaseConfig } from '../../server/src/api/compat/mailhog/release.js';
import { MailhogSearch, SEARCH_TEXT_BYTES } from '../../server/src/api/compat/mailhog/search.js';
import { MAX_MIME_PARTS } from '../../server/src/mime/part-index.js';
import { MessageStore } from '../../server/src/store/message-store.js';
import type { StoredMessage } from '../../server/src/store/types.js';
import { cpuTime } from '../helpers/cpu-time.js';

const store = new MessageStore({ maxMessages: 1000, maxBytes: 512 * 1024 * 1024 });

function stored(raw: string | Buffer, envelope = { mailFrom: 'from@example.com', rcptTo: ['to@example.com'] }): Promise<StoredMessage> {
  return store.add({
    raw: typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw,
    envelope,
    smtp: { helo: 'helo.test', remoteAddress: null, authUser: null, tls: false },
    receivedAt: Date.UTC(2024, 4, 1, 10, 0, 0, 120),
  });
}

const json = (value: unknown, indent = false): string => [...goJsonPieces(value, { indent })].join('');
const headersOf = (content: Content): Record<string, string[]> => JSON.parse(json(content.Headers)) as Record<string, string[]>;

describe('MailHog message shape', () => {
  it('reads headers as ContentFromString does: last occurrence, joined continuations, ": " needed', async () => {
    const message = mailhogMessage(
      await stored(
        ' Lead: a first line that starts with a space\r\n' +
          'Subject: first\r\n' +
          'Subject: second\r\n' +
          '\tcontinued\r\n' +
          'No-Space:here\r\n' +
          '  joins Subject, the last header kept\r\n' +
          'received: from upstream\r\n' +
          'MESSAGE-ID: <own@id>\r\n' +
          '\r\n' +
          'Body: not a header\r\n',
      ),
    );
    expect(headersOf(message.Content)).toStrictEqual({
      ' Lead': ['a first line that starts with a space'],
      'Return-Path': ['<from@example.com>'],
      'MESSAGE-ID': ['<own@id>'],
      Subject: ['second\tcontinued  joins Subject, the last header kept'],
      received: ['from upstream', `from helo.test by mailhog.example (MailHog)\r\n          id ${message.ID}; Wed, 01 May 2024 10:00:00 +0000`],
    });
    // Go sorts map keys by their bytes: the space first, upper case before lower case.
    expect(Object.keys(headersOf(message.Content))).toStrictEqual([' Lead', 'MESSAGE-ID', 'Return-Path', 'Subject', 'received']);
    expect(message.Content.Body.toString()).toBe('Body: not a header');
    expect(message.Created).toBe('2024-05-01T10:00:00.12Z');
  });

  it('turns envelope paths into Paths, source routes and all', async () => {
    const message = mailhogMessage(await stored('Subject: x\r\n\r\n', { mailFrom: '', rcptTo: ['@a.example,@b.example:user@d.example', 'postmaster', 'ü@exämple.test'] }));
    expect(JSON.parse(json({ From: message.From, To: message.To }))).toStrictEqual({
      From: { Relays: null, Mailbox: '', Domain: '', Params: '' },
      To: [
        { Relays: ['@a.example', '@b.example'], Mailbox: 'user', Domain: 'd.example', Params: '' },
        { Relays: null, Mailbox: 'postmaster', Domain: '', Params: '' },
        { Relays: null, Mailbox: 'ü', Domain: 'exämple.test', Params: '' },
      ],
    });
    expect(message.Raw.To).toHaveLength(3);
    const appended = mailhogMessage(await stored('Subject: x', { mailFrom: 'a@b', rcptTo: [] }));
    expect([appended.To, appended.Raw.To]).toStrictEqual([null, null]);
    // Without the CRLF SMTP ends DATA with (an IMAP APPEND), the data is kept whole.
    expect(appended.Raw.Data.toString()).toBe('Subject: x');
  });

  it('writes invalid UTF-8 as Go does, one U+FFFD per bad byte, and counts Size in bytes', async () => {
    const raw = Buffer.concat([Buffer.from('Subject: caf\xc3\xa9 \xe2\x82 \xff\r\n\r\n', 'latin1'), Buffer.from('\u2028é<')]);
    const message = mailhogMessage(await stored(Buffer.concat([raw, Buffer.from('\r\n')])));
    expect(json(message.Content.Headers.get('Subject'))).toBe('["café \ufffd\ufffd \ufffd"]');
    expect(json(message.Content.Body)).toBe('"\\u2028é\\u003c"');
    expect(message.Content.Size).toBe(raw.length);
  });

  it('sorts map keys by bytes, not as JS orders integer-like object keys', () => {
    expect(json(new Map([['9', 1], ['10', 2], ['B', 3], ['a', 4]]))).toBe('{"10":2,"9":1,"B":3,"a":4}');
    expect(json({ Z: [], A: new Map(), N: null, S: 0n + 9223372036854775807n }, true)).toBe('{\n  "Z": [],\n  "A": {},\n  "N": null,\n  "S": 9223372036854775807\n}');
  });

  it('splits multipart bodies on the boundary anywhere, preamble and "--" included', async () => {
    const message = mailhogMessage(await stored('Content-Type: multipart/mixed; boundary=b\r\n\r\n\r\n--b\r\n\r\nno header --b inline split\r\n--b--\r\n'));
    const parts = message.MIME!.Parts!.map((part) => [headersOf(part), part.Body.toString(), part.Size]);
    // The piece before the first delimiter is "\r\n": not empty, so it is a part, empty once trimmed.
    expect(parts).toStrictEqual([
      [{}, '', 0],
      [{}, 'no header ', 10],
      [{}, ' inline split', 13],
      [{}, '--', 2],
    ]);
  });

  it(`parses at most ${MAX_NESTING} levels of nested multipart and ${MAX_MIME_PARTS} parts, in time linear in the size`, async () => {
    let body = 'leaf';
    // n1n is no prefix of n10n, as l1 would be of l10: MailHog splits on the delimiter wherever it occurs.
    for (let level = 20; level >= 1; level--) body = `Content-Type: multipart/mixed; boundary=n${level}n\r\n\r\n--n${level}n\r\n${body}\r\n--n${level}n--`;
    const nested = mailhogMessage(await stored(`${body}\r\n`));
    let depth = 0;
    for (let mime = nested.MIME; mime !== null; mime = mime.Parts![0]!.MIME) depth += 1;
    expect(depth).toBe(MAX_NESTING);

    const many = `Content-Type: multipart/mixed; boundary=b\r\n\r\n${'--b\r\nContent-Type: text/plain\r\n\r\nx\r\n'.repeat(MAX_MIME_PARTS * 5)}--b--\r\n`;
    const message = await stored(many);
    const { result, ms } = cpuTime(() => mailhogMessage(message));
    expect(result.MIME!.Parts).toHaveLength(MAX_MIME_PARTS);
    expect(ms).toBeLessThan(2000);
  });

  it('keeps MIME null unless the header is spelled Content-Type and starts with multipart/', async () => {
    const mime = async (header: string): Promise<Message['MIME']> => mailhogMessage(await stored(`${header}\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n`)).MIME;
    expect((await mime('Content-Type: multipart/mixed; boundary=b'))?.Parts).toHaveLength(2);
    expect(await mime('content-type: multipart/mixed; boundary=b')).toBeNull();
    expect(await mime('Content-Type: Multipart/Mixed; boundary=b')).toBeNull();
    expect(await mime('Content-Type: multipart/mixed')).toStrictEqual({ Parts: null });
    expect((await mime('Content-Type: multipart/mixed; boundary="b"'))?.Parts).toHaveLength(2);
  });
});

describe('MailHog search', () => {
  it('matches envelope then the exact From/To header, and containing the raw body or any header', async () => {
    const message = await stored(Buffer.from('From: Sender <header-from@example.com>\r\nCC: cc@example.com\r\nSubject: Grüße\r\n\r\nH=C3=A4llo\r\n'), {
      mailFrom: 'bounce@example.com',
      rcptTo: ['@relay.example:inbox@example.com'],
    });
    const search = new MailhogSearch(store, SEARCH_TEXT_BYTES);
    const hits = (kind: 'from' | 'to' | 'containing', query: string): boolean => search.filter(kind, query)(message);
    expect([hits('from', 'BOUNCE@'), hits('from', 'header-from'), hits('from', 'nobody')]).toStrictEqual([true, true, false]);
    // Relays are left out of the envelope address, and Cc is not To.
    expect([hits('to', 'inbox@example.com'), hits('to', 'relay'), hits('to', 'cc@')]).toStrictEqual([true, false, false]);
    expect([hits('containing', 'h=c3=a4llo'), hits('containing', 'hällo'), hits('containing', 'grüSSe'), hits('containing', 'GRÜSSE')]).toStrictEqual([
      true,
      false,
      false,
      false,
    ]);
    expect([hits('containing', 'grüße'), hits('containing', 'mailhog.example'), hits('containing', '<bounce@')]).toStrictEqual([true, true, true]);
  });
});

describe('MailHog paging', () => {
  it('reads integers as strconv.ParseInt does', () => {
    const table: [unknown, bigint | null][] = [
      ['0', 0n],
      ['+7', 7n],
      ['-7', -7n],
      ['0007', 7n],
      ['9223372036854775807', 9223372036854775807n],
      ['9223372036854775808', null],
      ['-9223372036854775808', -9223372036854775808n],
      [`${'0'.repeat(50)}1`, 1n],
      ['1e3', null],
      [' 1', null],
      ['', null],
      ['0x10', null],
      [undefined, null],
    ];
    for (const [text, value] of table) expect([text, goInt64(text)]).toStrictEqual([text, value]);
  });

  it('defaults, caps and echoes start and limit', () => {
    expect(startLimit({})).toStrictEqual({ start: 0n, limit: 50 });
    expect(startLimit({ start: ['3', '9'], limit: '251' })).toStrictEqual({ start: 3n, limit: 250 });
    expect(startLimit({ start: '-3', limit: '0' })).toStrictEqual({ start: 0n, limit: 50 });
  });

  it('windows a newest-first list with the off-by-one at start == total', () => {
    expect(pageWindow(0, 0n, 50)).toStrictEqual({ offset: 0, count: 0 });
    expect(pageWindow(5, 0n, 2)).toStrictEqual({ offset: 0, count: 2 });
    expect(pageWindow(5, 4n, 50)).toStrictEqual({ offset: 4, count: 1 });
    expect(pageWindow(5, 5n, 50)).toStrictEqual({ offset: 4, count: 1 });
    expect(pageWindow(5, 6n, 50)).toStrictEqual({ offset: 0, count: 0 });
    expect(pageWindow(5, 2n ** 62n, 50)).toStrictEqual({ offset: 0, count: 0 });
  });
});

describe('MailHog release body', () => {
  const empty: ReleaseConfig = { Name: '', Save: false, Email: '', Host: '', Port: '', Username: '', Password: '', Mechanism: '' };

  it('decodes as Go decodes into OutgoingSMTP', () => {
    const decode = (text: string): ReleaseConfig | null => decodeReleaseConfig(Buffer.from(text));
    expect(decode('{"host":"h","PORT":"25","eMail":"e","Host":"last wins","extra":{"a":[1]},"Username":null}')).toStrictEqual({
      ...empty,
      Host: 'last wins',
      Port: '25',
      Email: 'e',
    });
    expect(decode('null')).toStrictEqual(empty);
    expect(decode('{"save":true,"name":"n"}')).toStrictEqual({ ...empty, Save: true, Name: 'n' });
    expect(decode('{"__proto__":{"Host":"x"}}')).toStrictEqual(empty);
    for (const bad of ['', ' ', '[]', '"x"', '1', '{"Port":25}', '{"Save":"true"}', '{"Host":["h"]}', '{"Host":"h"} trailing', '{']) {
      expect([bad, decode(bad)]).toStrictEqual([bad, null]);
    }
  });

  it('refuses what MailHog answers 400', () => {
    expect(refusal({ ...empty, Email: 'e' })).toBeNull();
    expect(refusal({ ...empty, Username: 'u', Mechanism: 'PLAIN' })).toBeNull();
    expect(refusal({ ...empty, Password: 'p', Mechanism: 'CRAMMD5' })).toBeNull();
    expect(refusal({ ...empty, Username: 'u', Mechanism: 'CRAM-MD5' })).toMatch(/mechanism/);
    expect(refusal({ ...empty, Username: 'u', Mechanism: 'plain' })).toMatch(/mechanism/);
    expect(refusal({ ...empty, Mechanism: 'anything' })).toBeNull();
    expect(refusal({ ...empty, Name: 'saved' })).toMatch(/no saved server/);
    expect(refusal({ ...empty, Name: 'saved', Save: true })).toBeNull();
  });
});

describe('MailHog part download', () => {
  const part = (headers: [string, string][], body: string): Content => ({
    Headers: new Map(headers.map(([name, value]) => [name, [value]])),
    Body: Buffer.from(body, 'latin1'),
    Size: 0,
    MIME: null,
  });

  it('copies MIME fields under Go canonical names, the part Content-Disposition winning, and nothing else', () => {
    const headers = partHeaders(
      part(
        [
          ['content-type', 'text/html; charset=utf-8'],
          ['CONTENT-DISPOSITION', 'inline; filename="caf\xc3\xa9.html"'],
          ['Set-Cookie', 'session=stolen'],
          ['Content-Length', '1'],
          ['Refresh', '0; url=https://evil.example'],
          ['Content-Id', '<a\x01b>'],
        ],
        '',
      ),
      'ID',
      '1',
    );
    expect([...headers]).toStrictEqual([
      ['Content-Disposition', ['inline; filename="caf\xc3\xa9.html"']],
      ['Content-Type', ['text/html; charset=utf-8']],
      ['Content-Id', ['<a b>']],
    ]);
    expect([...partHeaders(part([], ''), 'ID', 'x"y')]).toStrictEqual([['Content-Disposition', ['attachment; filename="ID-part-x"y"']]]);
  });

  it('decodes base64 bodies only, and reads the part number as strconv.Atoi', () => {
    expect(partBody(part([['Content-Transfer-Encoding', 'BASE64']], 'AAEC\r\n/w=='))).toStrictEqual(Buffer.from([0, 1, 2, 255]));
    expect(partBody(part([['content-transfer-encoding', 'base64']], 'AAEC'))).toStrictEqual(Buffer.from([0, 1, 2]));
    expect(partBody(part([['Content-Transfer-Encoding', 'quoted-printable']], 'caf=C3=A9')).toString()).toBe('caf=C3=A9');
    expect([partIndex('2'), partIndex('+2'), partIndex('002'), partIndex('x'), partIndex(''), partIndex('-1')]).toStrictEqual([2, 2, 2, 0, 0, -1]);
  });
});

describe('MailHog event stream', () => {
  /** A response that records what is written and reports as unsent whatever the test says. */
  class FakeResponse extends EventEmitter {
    head: unknown[] = [];
    written: string[] = [];
    writableLength = 0;
    destroyed = false;
    ended = false;
    writeHead(...args: unknown[]): void {
      this.head = args;
    }
    flushHeaders(): void {}
    write(chunk: string): boolean {
      this.written.push(chunk);
      return true;
    }
    end(): void {
      this.ended = true;
      this.emit('close');
    }
    destroy(): void {
      this.destroyed = true;
      this.emit('close');
    }
  }
  const logger = { warn: () => undefined } as unknown as FastifyBaseLogger;

  it('writes one event per new message, a keepalive each minute, and drops a client that falls behind', async () => {
    vi.useFakeTimers();
    try {
      const events = new EventStream(store, logger);
      const reader = new FakeResponse();
      const stalled = new FakeResponse();
      events.add(reader as unknown as ServerResponse);
      events.add(stalled as unknown as ServerResponse);
      expect(reader.head).toStrictEqual([200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' }]);

      const message = await stored('Subject: one\r\n\r\nbody\r\n');
      // Encoded on the next turn of the event loop, not inside the store's add.
      expect(reader.written).toStrictEqual([]);
      vi.advanceTimersByTime(0);
      const indented = [...goJsonPieces(mailhogMessage(message), { indent: true })].join('');
      expect(reader.written).toStrictEqual([`${indented.split('\n').map((line) => `data: ${line}\n`).join('')}\n`]);

      vi.advanceTimersByTime(60_000);
      expect(reader.written.at(-1)).toBe('keepalive: \n\n');

      stalled.writableLength = MAX_UNSENT_BYTES + 1;
      await stored('Subject: two\r\n\r\nbody\r\n');
      vi.advanceTimersByTime(0);
      expect(stalled.destroyed).toBe(true);
      expect(reader.written).toHaveLength(3);
      expect(stalled.written).toHaveLength(2);

      events.close();
      expect(reader.ended).toBe(true);
      await stored('Subject: after close\r\n\r\n');
      vi.advanceTimersByTime(120_000);
      expect(reader.written).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
