import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImapClient, openImap, startDovecot, type Dovecot } from '../helpers/dovecot/dovecot.js';
import { useMailroom } from '../helpers/mailroom.js';

/**
 * The MIME corpus through both servers' IMAP, command for command: Dovecot
 * holds the fixtures in INBOX; Mailroom gets them by APPEND into a folder with
 * the same internal dates, so UIDs 1..n and every response should match.
 */
const dir = fileURLToPath(new URL('../fixtures/mime/', import.meta.url));
const names = readdirSync(dir).filter((name) => name.endsWith('.eml')).sort();
const messages = names.map((name) => readFileSync(`${dir}${name}`));
const dateOf = (i: number): Date => new Date(Date.UTC(2024, 0, 1) + i * 1000);

const mailroom = await useMailroom();
let dovecot: Dovecot;
let ours: ImapClient;
let theirs: ImapClient;

beforeAll(async () => {
  dovecot = await startDovecot(messages);
  theirs = await openImap(dovecot, { select: 'EXAMINE' });
  ours = await ImapClient.connect(mailroom.ports.imap);
  await ours.command('LOGIN corpus pw');
  await ours.command('CREATE Corpus');
  for (const [i, raw] of messages.entries()) {
    const date = dateOf(i).toUTCString().replace(/^\w+, (\d+) (\w+) (\d+) ([\d:]+) GMT$/, '$1-$2-$3 $4 +0000');
    const reply = await ours.command(Buffer.concat([Buffer.from(`APPEND Corpus "${date}" {${raw.length}}\r\n`), raw]));
    expect(reply.tagged).toMatch(/^\S+ OK \[APPENDUID \d+ \d+\]/);
  }
  // The harness's Dovecot shows no \Recent; a SELECT takes it here, then EXAMINE on both sets no \Seen by fetching.
  expect((await ours.command('SELECT Corpus')).tagged).toMatch(/OK \[READ-WRITE\]/);
  expect((await ours.command('EXAMINE Corpus')).tagged).toMatch(/OK \[READ-ONLY\]/);
}, 60_000);

afterAll(async () => {
  await Promise.all([ours?.logout(), theirs?.logout()]);
  await dovecot?.stop();
});

async function both(command: string): Promise<[string[], string[]]> {
  const [a, b] = [await ours.command(command), await theirs.command(command)];
  expect(a.tagged).toMatch(/^\S+ OK /);
  expect(b.tagged).toMatch(/^\S+ OK /);
  return [a.untagged, b.untagged];
}

describe('IMAP responses equal Dovecot 2.3 on the MIME corpus', () => {
  it.each([
    '(UID RFC822.SIZE FLAGS INTERNALDATE)',
    '(ENVELOPE BODYSTRUCTURE)',
    'BODY',
    'BODY.PEEK[]',
    'BODY.PEEK[HEADER]',
    'BODY.PEEK[TEXT]',
    '(BODY.PEEK[1] BODY.PEEK[1.MIME])',
    '(BODY.PEEK[2] BODY.PEEK[2.MIME] BODY.PEEK[1.1])',
    'BODY.PEEK[HEADER.FIELDS (From To Subject Content-Type)]',
    'BODY.PEEK[HEADER.FIELDS.NOT (Received Content-Type)]',
    '(BODY.PEEK[]<0.100> BODY.PEEK[TEXT]<10.50>)',
    'FAST',
    'FULL',
    '(RFC822.HEADER RFC822.SIZE)',
  ])('FETCH 1:* %s', async (items) => {
    const [a, b] = await both(`FETCH 1:* ${items}`);
    expect(a).toHaveLength(messages.length);
    for (let i = 0; i < b.length; i++) expect(a[i], `${names[i]}`).toBe(b[i]);
  });

  it.each([
    'ALL',
    'SUBJECT "test"',
    'FROM "example"',
    'TO "example.com" NOT CC "x"',
    'OR SUBJECT "mime" BODY "attachment"',
    'TEXT "hello"',
    'BODY "e"',
    'HEADER Content-Type "multipart"',
    'LARGER 2000 SMALLER 50000',
    'SENTSINCE 1-Jan-2010 SENTBEFORE 1-Jan-2030',
    'SINCE 1-Jan-2024 BEFORE 2-Jan-2024',
    'ON 1-Jan-2024',
    'UID 10:20,40:*',
    '1:10 NOT 5',
    // The client writes one char per byte, so UTF-8 goes in as its bytes.
    `CHARSET UTF-8 SUBJECT "${Buffer.from('é').toString('latin1')}"`,
    'RETURN (MIN MAX COUNT) SUBJECT "a"',
    'RETURN (ALL) NOT SUBJECT "zzzz"',
  ])('SEARCH and UID SEARCH %s', async (query) => {
    // The two clients' tags differ, and ESEARCH echoes them (RFC 4731 §3).
    const untag = (lines: string[]): string[] => lines.map((line) => line.replace(/\(TAG "[^"]+"\)/, '(TAG "t")'));
    for (const command of [`SEARCH ${query}`, `UID SEARCH ${query}`]) {
      const [a, b] = await both(command);
      expect(untag(a), command).toStrictEqual(untag(b));
    }
  });

  it.each(['(ARRIVAL)', '(DATE)', '(REVERSE DATE)', '(SUBJECT)', '(FROM)', '(TO)', '(CC)', '(SIZE)', '(REVERSE SIZE SUBJECT)'])('SORT %s UTF-8 ALL', async (criteria) => {
    const [a, b] = await both(`SORT ${criteria} UTF-8 ALL`);
    expect(a).toStrictEqual(b);
  });

  it.each(['ORDEREDSUBJECT', 'REFERENCES'])('THREAD %s UTF-8 ALL', async (algorithm) => {
    const [a, b] = await both(`THREAD ${algorithm} UTF-8 ALL`);
    expect(a).toStrictEqual(b);
  });
});
