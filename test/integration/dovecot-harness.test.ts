import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fetchEach,
  imapExchange,
  imapRaw,
  literals,
  pop3Exchange,
  startDovecot,
  stripTimings,
  type Dovecot,
} from '../helpers/dovecot/dovecot.js';
import { Pop3Client } from '../helpers/dovecot/pop3-client.js';

const crlf = (lines: string[]): string => lines.join('\r\n');

const plain = crlf([
  'From: Alice Example <alice@example.org>',
  'To: "Bob \\"the builder\\" Smith" <bob@example.org>',
  'Subject: Plain "hello"',
  'Date: Fri, 20 Nov 2026 08:30:00 +0000',
  'Message-ID: <plain-1@example.org>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: 7bit',
  '',
  'Hello Bob,',
  '',
  'Just a plain message.',
  '',
]);

const multipart = crlf([
  'From: alice@example.org',
  'To: bob@example.org',
  'Subject: With attachment',
  'Date: Fri, 20 Nov 2026 09:00:00 +0100',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="XYZ"',
  '',
  'This is a multi-part message in MIME format.',
  '--XYZ',
  'Content-Type: text/plain; charset=us-ascii',
  '',
  'See attached.',
  '--XYZ',
  'Content-Type: application/pdf; name="a.pdf"',
  'Content-Disposition: attachment; filename="a.pdf"',
  'Content-Transfer-Encoding: base64',
  '',
  'JVBERi0xLjQK',
  '--XYZ--',
  '',
]);

const bareLf = 'From: carol@example.org\nSubject: Bare LF\n\nline one\nline two\n';
const bareLfAsCrlf = bareLf.replace(/\n/g, '\r\n');
const messages = [plain, multipart, bareLf];

describe('Dovecot reference harness', () => {
  let dovecot: Dovecot;
  beforeAll(async () => {
    dovecot = await startDovecot(messages);
  });
  afterAll(() => dovecot?.stop());

  it("gives the first message Dovecot's BODYSTRUCTURE, as RFC 3501 7.4.2 lays it out", async () => {
    const [first] = await fetchEach(dovecot, 'BODYSTRUCTURE');
    // ("text" "plain" params id description encoding size lines) then the extension
    // data md5 disposition language location, which Dovecot always sends (as NIL).
    // size 37 = "Hello Bob,\r\n" 12 + "\r\n" 2 + "Just a plain message.\r\n" 23; 3 lines.
    expect(first).toBe('* 1 FETCH (BODYSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 37 3 NIL NIL NIL NIL))');
  });

  it('gives the multipart its parts, disposition and multipart extension data', async () => {
    const [, second] = await fetchEach(dovecot, 'BODYSTRUCTURE');
    // The CRLF before each boundary belongs to the boundary: "See attached." is 13 octets, 0 lines.
    // A non-text part has no line count; multipart extension data is params, disposition, language, location.
    expect(second).toBe(
      '* 2 FETCH (BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 13 0 NIL NIL NIL NIL)' +
        '("application" "pdf" ("name" "a.pdf") NIL NIL "base64" 12 NIL ("attachment" ("filename" "a.pdf")) NIL NIL)' +
        ' "mixed" ("boundary" "XYZ") NIL NIL NIL))',
    );
  });

  it('sends ENVELOPE strings holding a quote or backslash as literals, not escaped quoted strings', async () => {
    const [first] = await fetchEach(dovecot, 'ENVELOPE');
    expect(first).toBe(
      '* 1 FETCH (ENVELOPE ("Fri, 20 Nov 2026 08:30:00 +0000" {13}\r\nPlain "hello"' +
        ' (("Alice Example" NIL "alice" "example.org")) (("Alice Example" NIL "alice" "example.org"))' +
        ' (("Alice Example" NIL "alice" "example.org")) (({23}\r\nBob "the builder" Smith NIL "bob" "example.org"))' +
        ' NIL NIL NIL "<plain-1@example.org>"))',
    );
  });

  it('counts RFC822.SIZE in CRLF octets: the file size for CRLF messages, plus one per bare LF', async () => {
    const sizes = (await fetchEach(dovecot, 'RFC822.SIZE')).map((response) => Number(/RFC822\.SIZE (\d+)/.exec(response)?.[1]));
    expect(sizes).toStrictEqual([Buffer.byteLength(plain), Buffer.byteLength(multipart), Buffer.byteLength(bareLf) + 5]);
    expect(sizes[2]).toBe(Buffer.byteLength(bareLfAsCrlf));
  });

  it('returns BODY[] byte for byte for CRLF messages and CRLF-normalised for bare-LF ones', async () => {
    const bodies = (await fetchEach(dovecot, 'BODY.PEEK[]')).map((response) => literals(response));
    expect(bodies.map((parts) => parts.length)).toStrictEqual([1, 1, 1]);
    expect(Buffer.from(bodies[0]![0]!, 'latin1').equals(Buffer.from(plain))).toBe(true);
    expect(Buffer.from(bodies[1]![0]!, 'latin1').equals(Buffer.from(multipart))).toBe(true);
    expect(bodies[2]![0]).toBe(bareLfAsCrlf);
  });

  it('numbers the messages in order, UIDs 1..n, with fixed internal dates and no flags', async () => {
    expect(await fetchEach(dovecot, 'UID FLAGS INTERNALDATE')).toStrictEqual([
      '* 1 FETCH (UID 1 FLAGS () INTERNALDATE "01-Jan-2024 00:00:00 +0000")',
      '* 2 FETCH (UID 2 FLAGS () INTERNALDATE "01-Jan-2024 00:00:01 +0000")',
      '* 3 FETCH (UID 3 FLAGS () INTERNALDATE "01-Jan-2024 00:00:02 +0000")',
    ]);
  });

  it('returns the raw wire text of a session, tagged lines included', async () => {
    const text = await imapRaw(dovecot, ['FETCH 3 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])', 'NOOP'], { select: 'EXAMINE' });
    expect(stripTimings(text)).toBe(
      '* 3 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {20}\r\nSubject: Bare LF\r\n\r\n)\r\n' + 'A3 OK Fetch completed.\r\n' + 'A4 OK NOOP completed.\r\n',
    );
  });

  it('sends synchronizing literals after the server says "+"', async () => {
    const [search] = await imapExchange(dovecot, ['SEARCH CHARSET UTF-8 SUBJECT {5}\r\nPlain'], { select: 'EXAMINE' });
    expect(search?.untagged).toStrictEqual(['+ OK', '* SEARCH 1']);
    expect(search?.tagged).toMatch(/^A3 OK Search completed/);
  });

  it('serves POP3 on its own port: greeting, then LIST of the three messages in CRLF octets', async () => {
    const client = await Pop3Client.connect(dovecot.pop3Port);
    client.close();
    expect(client.greeting).toMatch(/^\+OK /);
    const [list, stat] = await pop3Exchange(dovecot, ['LIST', 'STAT']);
    const sizes = [plain, multipart, bareLfAsCrlf].map((m) => Buffer.byteLength(m));
    expect(list).toBe(`+OK 3 messages:\r\n1 ${sizes[0]}\r\n2 ${sizes[1]}\r\n3 ${sizes[2]}\r\n.`);
    expect(stat).toBe(`+OK 3 ${sizes[0]! + sizes[1]! + sizes[2]!}`);
  });

  it('runs a second instance side by side, and stop() kills it and removes its directory', async () => {
    const other = await startDovecot([]);
    expect(other.imapPort).not.toBe(dovecot.imapPort);
    expect(await fetchEach(other, 'UID')).toStrictEqual([]);
    await other.stop();
    expect(existsSync(other.dir)).toBe(false);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(other.imapPort, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });
});
