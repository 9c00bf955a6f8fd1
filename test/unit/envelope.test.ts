import { describe, expect, it } from 'vitest';
import { parseAddressList } from '../../server/src/mime/address-list.js';
import { imapEnvelope } from '../../server/src/mime/envelope.js';
import { imapNString, imapNStringNoLf } from '../../server/src/mime/imap-string.js';
import { cpuTime } from '../helpers/cpu-time.js';

/*
 * Every expected string below is what Dovecot 2.3.19 printed for the same
 * header (FETCH ENVELOPE through test/helpers/dovecot), pasted verbatim.
 * Strings are byte strings: \xNN is one byte, literals are {n}\r\n + n bytes.
 */

/** ENVELOPE of a header block given as a byte string. */
function envelope(header: string): string {
  const raw = Buffer.from(header, 'latin1');
  return imapEnvelope(raw, 0, raw.length);
}

const BEFORE_TO = '(NIL NIL NIL NIL NIL ';
const AFTER_TO = ' NIL NIL NIL NIL)';

/** The envelope's `to` list for a header block holding only `To: <value>`. */
function to(value: string): string {
  const env = envelope(`To: ${value}\r\n\r\n`);
  expect(env.startsWith(BEFORE_TO) && env.endsWith(AFTER_TO), env).toBe(true);
  return env.slice(BEFORE_TO.length, -AFTER_TO.length);
}

describe('ENVELOPE address lists, as Dovecot parses them', () => {
  it.each([
    // a bare addr-spec takes its last comment as the name; a name-addr never does
    ['ann@example.test (Ann Comment)', '(("Ann Comment" NIL "ann" "example.test"))'],
    ['a(c1)@(c2)b(c3)', '(("c3" NIL "a" "b"))'],
    ['"Edge, Cases" <edge@example.test> (ignored comment)', '(("Edge, Cases" NIL "edge" "example.test"))'],
    ['<a@b> (comment)', '((NIL NIL "a" "b"))'],
    ['a@b (c1 (nested) \\) x)', '(("c1 (nested) ) x" NIL "a" "b"))'],
    ['a@b (   )', '(("" NIL "a" "b"))'],
    ['a@b ()', '((NIL NIL "a" "b"))'],
    ['"  " <a@b>', '(("" NIL "a" "b"))'],
    ['"" <a@b>', '((NIL NIL "a" "b"))'],
  ])('names and comments: To: %j', (value, expected) => {
    expect(to(value)).toBe(expected);
  });

  it.each([
    [
      'Team: Ann <ann@x.test>, bob@x.test;, Solo <solo@x.test>, Empty:;',
      '((NIL NIL "Team" NIL)("Ann" NIL "ann" "x.test")(NIL NIL "bob" "x.test")(NIL NIL NIL NIL)("Solo" NIL "solo" "x.test")(NIL NIL "Empty" NIL)(NIL NIL NIL NIL))',
    ],
    // an unclosed group is closed anyway; an empty phrase is a group named ""
    ['g: a@b, c@d', '((NIL NIL "g" NIL)(NIL NIL "a" "b")(NIL NIL "c" "d")(NIL NIL NIL NIL))'],
    [': a@b;', '((NIL NIL "" NIL)(NIL NIL "a" "b")(NIL NIL NIL NIL))'],
    ['g: a@b; junk', '((NIL NIL "g" NIL)(NIL NIL "a" "b")(NIL NIL NIL NIL))'],
    // the group name is an nstring, not tidied like a display name
    ['"A  B": ;', '((NIL NIL "A  B" NIL)(NIL NIL NIL NIL))'],
  ])('groups: To: %j', (value, expected) => {
    expect(to(value)).toBe(expected);
  });

  it.each([
    ['a@b, , c@d,', '((NIL NIL "a" "b")(NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN")(NIL NIL "c" "d"))'],
    [',a@b', '((NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN")(NIL NIL "a" "b"))'],
    ['a@b, (unterminated', '((NIL NIL "a" "b")(NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))'],
    // parsing stops at the first element not followed by a comma
    ['a@b junk, c@d', '((NIL NIL "a" "b"))'],
    ['q', '((NIL NIL "q" "MISSING_DOMAIN"))'],
    ['"q"', '(("q" NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))'],
    ['q r s', '(("q r s" NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))'],
    ['q (comm)', '(("comm" NIL "q" "MISSING_DOMAIN"))'],
    ['<>', '((NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))'],
    ['Name <>', '(("Name" NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))'],
    ['<a@b', '((NIL NIL "a" "SYNTAX_ERROR"))'],
    ['a@', '((NIL NIL "a" "MISSING_DOMAIN"))'],
    ['@b', '((NIL NIL "MISSING_MAILBOX" "b"))'],
  ])('broken and empty elements: To: %j', (value, expected) => {
    expect(to(value)).toBe(expected);
  });

  it.each([
    ['<@relay.one,,@relay.two:mary@example.test>', '((NIL "@relay.one,@relay.two" "mary" "example.test"))'],
    ['<@relay x@y>', '((NIL "INVALID_ROUTE" "x" "y"))'],
  ])('obsolete routes: To: %j', (value, expected) => {
    expect(to(value)).toBe(expected);
  });

  it.each([
    // local parts may have any dots; domains may not
    ['.a..b.@x', '((NIL NIL ".a..b." "x"))'],
    ['.Joe <a@b>', '((NIL NIL ".Joe" "MISSING_DOMAIN"))'],
    ['Joe . Q. Public <a@b>', '(("Joe . Q. Public" NIL "a" "b"))'],
    ['a @ b . c', '((NIL NIL "a" "b.c"))'],
    ['a@b..c', '((NIL NIL "a" "MISSING_DOMAIN"))'],
    ['a@[1.2\\].3]', '((NIL NIL "a" "[1.2\\\\].3]"))'],
  ])('local parts and domains: To: %j', (value, expected) => {
    expect(to(value)).toBe(expected);
  });

  it.each([
    // mailbox/host are nstrings: quoted with escapes; names go literal for any quote or 8-bit byte
    ['"a\\"b"@x, "a\\\\b"@x', '((NIL NIL "a\\"b" "x")(NIL NIL "a\\\\b" "x"))'],
    ['"a\rb"@x', '((NIL NIL {3}\r\na\rb "x"))'],
    ['"John\r\n\tDoe" <j@d>', '(({8}\r\nJohn Doe NIL "j" "d"))'],
    ['"John \\"JD\\" Doe" <jd@x>', '(({13}\r\nJohn "JD" Doe NIL "jd" "x"))'],
    ['J\xfcrgen <j@x>, <j\xfcrgen@b\xfccher.example>', '(({6}\r\nJ\xfcrgen NIL "j" "x")(NIL NIL {6}\r\nj\xfcrgen {14}\r\nb\xfccher.example))'],
    ['"a\x00b" <c\x00d@e>, x\x00y@z', '(({5}\r\na\xef\xbf\xbdb NIL "c" "SYNTAX_ERROR"))'],
  ])('quoting of the output: To: %j', (value, expected) => {
    expect(to(value)).toBe(expected);
  });

  it.each([
    // an unterminated comment or quoted string keeps what it had up to its last line break
    ['a@b (x\r\n y', '(("x" NIL "a" "MISSING_DOMAIN"))'],
    ['j "abc\r\n def\r\n g', '(("j abc def" NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))'],
    // a continuation line holding a single blank loses the line break before it
    ['"a\\\r\n \r\n b"@x', '((NIL NIL "a  b" "x"))'],
    ['a@b (A\r\n ', '((NIL NIL "a" "MISSING_DOMAIN"))'],
    ['a@b (A\r\n  ', '(("A" NIL "a" "MISSING_DOMAIN"))'],
  ])('folding inside comments and quoted strings: To: %j', (value, expected) => {
    expect(to(value)).toBe(expected);
  });

  it('parses into name, route, mailbox and domain, with group markers', () => {
    // Dovecot: (("A. B" "@r" "a" "b.c")(NIL NIL "g" NIL)(NIL NIL "x" "y")(NIL NIL NIL NIL)(NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))
    expect(parseAddressList('"A. B" <@r:a@b.c>, g: x@y;, (broken comment')).toStrictEqual([
      { name: 'A. B', route: '@r', mailbox: 'a', domain: 'b.c' },
      { name: null, route: null, mailbox: 'g', domain: null },
      { name: null, route: null, mailbox: 'x', domain: 'y' },
      { name: null, route: null, mailbox: null, domain: null },
      { name: null, route: null, mailbox: 'MISSING_MAILBOX', domain: 'MISSING_DOMAIN' },
    ]);
    // a trailing comment after the last comma adds nothing
    expect(parseAddressList('a@b, (only a comment)')).toStrictEqual([{ name: null, route: null, mailbox: 'a', domain: 'b' }]);
    expect(parseAddressList(' (nothing but a comment) ')).toStrictEqual([]);
    expect(parseAddressList('')).toStrictEqual([]);
  });
});

describe('ENVELOPE header handling, as Dovecot does it', () => {
  it.each([
    // address fields add up over repeated headers; string fields take the last one
    [
      'From: a@b\r\nFrom: c@d\r\nFrom:\r\nSubject: first\r\nSubject: second\r\n\r\n',
      '(NIL "second" ((NIL NIL "a" "b")(NIL NIL "c" "d")) ((NIL NIL "a" "b")(NIL NIL "c" "d")) ((NIL NIL "a" "b")(NIL NIL "c" "d")) NIL NIL NIL NIL NIL)',
    ],
    // Sender and Reply-To without an address fall back to From
    ['From: a@b\r\nSender:\r\nReply-To: (nobody)\r\n\r\n', '(NIL NIL ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) NIL NIL NIL NIL NIL)'],
    // names match case-insensitively, blanks before the colon are ignored, a NUL ends the name
    ['sUbJeCt : mixed case\r\nSubject\x00junk: nul in name\r\n\r\n', '(NIL "nul in name" NIL NIL NIL NIL NIL NIL NIL NIL)'],
    ['Subject: plain\r\nX: y\r\nno colon line\r\n\r\n', '(NIL "plain" NIL NIL NIL NIL NIL NIL NIL NIL)'],
    ['Subject: no blank line, no final newline', '(NIL "no blank line, no final newline" NIL NIL NIL NIL NIL NIL NIL NIL)'],
  ])('header %j', (header, expected) => {
    expect(envelope(header)).toBe(expected);
  });

  it.each([
    // the subject is tidied for humans, and any tidying (or a quote, or 8-bit) means a literal
    ['Subject:   lead spaces\r\n\r\n', '(NIL "lead spaces" NIL NIL NIL NIL NIL NIL NIL NIL)'],
    ['Subject: trail spaces   \r\n\r\n', '(NIL {12}\r\ntrail spaces NIL NIL NIL NIL NIL NIL NIL NIL)'],
    ['Subject: fold\r\n\twith tab\r\n\r\n', '(NIL {13}\r\nfold with tab NIL NIL NIL NIL NIL NIL NIL NIL)'],
    ['Subject:    \r\n\r\n', '(NIL "" NIL NIL NIL NIL NIL NIL NIL NIL)'],
    ['Subject: a "quoted" word\r\n\r\n', '(NIL {15}\r\na "quoted" word NIL NIL NIL NIL NIL NIL NIL NIL)'],
    ['Subject: a\x00b\r\n\r\n', '(NIL {5}\r\na\xef\xbf\xbdb NIL NIL NIL NIL NIL NIL NIL NIL)'],
    ['Subject: x\r', '(NIL {1}\r\nx NIL NIL NIL NIL NIL NIL NIL NIL)'],
    // date, in-reply-to and message-id only lose their line breaks
    ['Date:   x y\r\nMessage-ID:\r\n\t<x@y>\r\nIn-Reply-To:  <a@b>  \r\n\r\n', '("x y" NIL NIL NIL NIL NIL NIL NIL "<a@b>  " "\t<x@y>")'],
    ['Date: """"\r\nMessage-ID: """""\r\n\r\n', '("\\"\\"\\"\\"" NIL NIL NIL NIL NIL NIL NIL NIL {5}\r\n""""")'],
    ['Date:    \r\nMessage-ID: <\xe9@x>\r\n\r\n', '("   " NIL NIL NIL NIL NIL NIL NIL NIL {5}\r\n<\xe9@x>)'],
    ['Date: a\rb\r\nIn-Reply-To: <a@b>\r\n <c@d>\r\n\r\n', '("a b" NIL NIL NIL NIL NIL NIL NIL "<a@b> <c@d>" NIL)'],
  ])('string field %j', (header, expected) => {
    expect(envelope(header)).toBe(expected);
  });

  it('keeps the blank after the colon of a first line that does not fit in 8 KiB', () => {
    // 8189 octets before CRLF fit; 8190 do not, and Dovecot keeps the tab
    const fits = 'x'.repeat(8189 - 'Date:\t'.length);
    const overflows = 'x'.repeat(8190 - 'Date:\t'.length);
    expect(envelope(`Date:\t${fits}\r\n\r\n`)).toBe(`("${fits}" NIL NIL NIL NIL NIL NIL NIL NIL NIL)`);
    expect(envelope(`Date:\t${overflows}\r\n\r\n`)).toBe(`("\t${overflows}" NIL NIL NIL NIL NIL NIL NIL NIL NIL)`);
  });

  it('reads only [headerStart, headerEnd) and stops at the empty line', () => {
    const raw = Buffer.from('X: 1\r\nSubject: inner\r\n\r\nSubject: body\r\n', 'latin1');
    expect(imapEnvelope(raw, 6, raw.length)).toBe('(NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL)');
    expect(imapEnvelope(raw, 0, 6)).toBe('(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)');
  });
});

describe('IMAP string output', () => {
  it('quotes up to four quote or backslash characters, then switches to a literal', () => {
    expect(imapNString(null)).toBe('NIL');
    expect(imapNString('')).toBe('""');
    expect(imapNString('""""')).toBe('"\\"\\"\\"\\""');
    expect(imapNString('"""""')).toBe('{5}\r\n"""""');
    expect(imapNString('\\\\\\\\\\')).toBe('{5}\r\n\\\\\\\\\\');
    expect(imapNString('<\xe9@x>')).toBe('{5}\r\n<\xe9@x>');
    expect(imapNString('a\rb')).toBe('{3}\r\na\rb');
  });

  it('drops line breaks, putting a space where the next line does not start with a blank', () => {
    expect(imapNStringNoLf(null)).toBe('NIL');
    expect(imapNStringNoLf('a\rb')).toBe('"a b"');
    expect(imapNStringNoLf('\r\n\t<x@y>')).toBe('"\t<x@y>"');
    expect(imapNStringNoLf('<a@b>\r\n <c@d>')).toBe('"<a@b> <c@d>"');
  });
});

describe('ENVELOPE performance on hostile headers', () => {
  it.each([
    ['nested comments', '('.repeat(50_000) + ')'.repeat(50_000), '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)'],
    ['comments and quotes', '("'.repeat(25_000) + '")'.repeat(25_000) + ' a@b', '(NIL NIL NIL NIL NIL ((NIL NIL "a" "b")) NIL NIL NIL NIL)'],
    ['specials', '("(\\"<@,;:'.repeat(10_000), '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)'],
    ['escaped quotes', '"\\"'.repeat(33_000), '(NIL NIL NIL NIL NIL (({1}\r\n" NIL "MISSING_MAILBOX" "MISSING_DOMAIN")) NIL NIL NIL NIL)'],
    ['unclosed comments', '('.repeat(100_000), '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)'],
  ])('parses a 100 KB To header of %s in well under 100 ms', (_name, value, expected) => {
    const raw = Buffer.from(`To: ${value}\r\n\r\n`, 'latin1');
    expect(raw.length).toBeGreaterThan(99_000);
    const { result: env, ms } = cpuTime(() => imapEnvelope(raw, 0, raw.length));
    expect(env).toBe(expected);
    expect(ms).toBeLessThan(100);
  });
});
