import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ImapMessage } from '../../server/src/imap/message.js';
import { baseSubject } from '../../server/src/imap/search/base-subject.js';
import { casemap, compareCodePoints } from '../../server/src/imap/search/casemap.js';
import { parseMessageDate, parseSearchDate } from '../../server/src/imap/search/dates.js';
import { decodeHeaderValue } from '../../server/src/imap/search/encoded-words.js';
import {
  parseSearch,
  parseSort,
  parseThread,
  runSearch,
  runSort,
  searchResponse,
  threadResponse,
  type SearchContext,
  type SearchRequest,
} from '../../server/src/imap/search/index.js';
import { messageIds } from '../../server/src/imap/search/message-id.js';
import { decodeBase64, decodeQuotedPrintable } from '../../server/src/imap/search/transfer-decoding.js';
import { DEFAULT_LIMITS } from '../../server/src/imap/wire/limits.js';
import { parseCommand } from '../../server/src/imap/wire/parser.js';
import type { ImapValue } from '../../server/src/imap/wire/types.js';
import { digestMessage } from '../../server/src/mime/digest.js';
import { cpuTime } from '../helpers/cpu-time.js';

/** Command arguments as the wire parser hands them over. */
function args(text: string): readonly ImapValue[] {
  return parseCommand(Buffer.from(`A1 SEARCH ${text}\r\n`, 'utf8'), DEFAULT_LIMITS).args;
}

interface Spec {
  headers?: string[];
  body?: string;
  flags?: string[];
  date?: string;
}

function mailbox(specs: readonly Spec[], recent: readonly number[] = []): SearchContext {
  const messages: ImapMessage[] = specs.map((spec, i) => {
    const raw = Buffer.from(`${[...(spec.headers ?? []), '', spec.body ?? ''].join('\r\n')}`, 'utf8');
    return {
      uid: 10 * (i + 1),
      raw,
      internalDate: Date.parse(spec.date ?? `2024-01-0${(i % 9) + 1}T12:00:00Z`),
      flags: new Set(spec.flags ?? []),
      digest: digestMessage(raw),
    };
  });
  return { messages, isRecent: (i) => recent.includes(i) };
}

function request(text: string, esearch = false): SearchRequest {
  const parsed = parseSearch(args(text), { esearch });
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
}

/** Sequence numbers of the messages matching `text`. */
function search(ctx: SearchContext, text: string): number[] {
  return runSearch(request(text), ctx).map((i) => i + 1);
}

describe('parseSearch', () => {
  it('reads the example from the brief', () => {
    const parsed = parseSearch(args('CHARSET UTF-8 OR (FROM "bob" SEEN) NOT 2:4 SUBJECT {5}\r\nhello'), { esearch: true });
    expect(parsed).toStrictEqual({
      charset: 'UTF-8',
      returnOptions: null,
      criteria: {
        kind: 'and',
        criteria: [
          {
            kind: 'or',
            criteria: [
              {
                kind: 'and',
                criteria: [
                  { kind: 'header', field: 'from', mode: 'address', key: 'BOB' },
                  { kind: 'flag', flag: '\\Seen' },
                ],
              },
              { kind: 'not', criterion: { kind: 'set', uid: false, set: '2:4' } },
            ],
          },
          { kind: 'header', field: 'subject', mode: 'subject', key: 'HELLO' },
        ],
      },
    });
  });

  it.each([
    ['', 'Missing search keys'],
    ['FOO', 'Unknown search key FOO'],
    ['FROM', 'Missing or invalid search string'],
    ['BEFORE', 'Missing or invalid date'],
    ['BEFORE 32-Jan-2024', 'Invalid search date'],
    ['SINCE 1-Foo-2024', 'Invalid search date'],
    ['ON 1-Jan-24', 'Invalid search date'],
    ['LARGER -1', 'Invalid size'],
    ['LARGER 18446744073709551616', 'Invalid size'],
    ['SMALLER x', 'Invalid size'],
    ['OLDER 0', 'Invalid interval'],
    ['YOUNGER 4294967296', 'Invalid interval'],
    ['UID 0', 'Invalid UID set'],
    ['UID 1:', 'Invalid UID set'],
    ['1,,2', 'Unknown search key 1,,2'],
    ['0:4', 'Unknown search key 0:4'],
    ['()', 'Empty search key list'],
    ['OR SEEN', 'Missing search key'],
    ['NOT', 'Missing search key'],
    ['HEADER', 'Missing or invalid header field name'],
    ['HEADER X-A', 'Missing or invalid search string'],
    ['KEYWORD', 'Missing or invalid keyword'],
    ['"ALL"', 'Invalid search key'],
    ['BODY[] x', 'Invalid search key'],
    ['$', 'Unknown search key $'],
    ['RETURN (ALL) ALL', 'Unknown search key RETURN'],
  ])('refuses %j', (text, error) => {
    expect(parseSearch(args(text), { esearch: false })).toStrictEqual({ error });
  });

  it('asks for BADCHARSET on charsets other than US-ASCII and UTF-8 (RFC 3501 §6.4.4)', () => {
    expect(parseSearch(args('CHARSET ISO-8859-1 ALL'), { esearch: false })).toStrictEqual({ error: 'Unsupported charset ISO-8859-1', code: 'BADCHARSET' });
    expect(parseSearch(args('CHARSET "us-ascii" ALL'), { esearch: false })).toMatchObject({ charset: 'us-ascii' });
    expect(parseSearch(args('CHARSET utf-8 ALL'), { esearch: false })).toMatchObject({ charset: 'utf-8' });
  });

  it('refuses a search string that is not UTF-8', () => {
    const bytes = Buffer.concat([Buffer.from('A1 SEARCH BODY {1}\r\n'), Buffer.from([0xe9]), Buffer.from('\r\n')]);
    expect(parseSearch(parseCommand(bytes, DEFAULT_LIMITS).args, { esearch: false })).toStrictEqual({ error: 'Search string is not valid UTF-8' });
  });

  it('reads RFC 4731 RETURN options only when ESEARCH is on, in canonical order', () => {
    expect(request('RETURN (COUNT min) ALL', true).returnOptions).toStrictEqual(['MIN', 'COUNT']);
    expect(request('RETURN () ALL', true).returnOptions).toStrictEqual(['ALL']);
    expect(request('RETURN (ALL ALL) CHARSET UTF-8 ALL', true)).toMatchObject({ returnOptions: ['ALL'], charset: 'UTF-8' });
    expect(parseSearch(args('RETURN (SAVE) ALL'), { esearch: true })).toStrictEqual({ error: 'Unknown SEARCH return option' });
    expect(parseSearch(args('RETURN (PARTIAL 1:5) ALL'), { esearch: true })).toStrictEqual({ error: 'Unknown SEARCH return option' });
  });

  it('bounds nesting: OR chains are flat, OR OR ... is refused past 256 levels', () => {
    const flat = request(`${'OR SEEN '.repeat(5000)}DRAFT`).criteria;
    expect(flat.kind === 'or' && flat.criteria.length).toBe(5001);
    expect(parseSearch(args(`${'OR '.repeat(300)}${'SEEN '.repeat(301)}`), { esearch: false })).toStrictEqual({ error: 'Search keys nested too deeply' });
    expect(request(`${'NOT '.repeat(10001)}SEEN`).criteria).toStrictEqual({ kind: 'not', criterion: { kind: 'flag', flag: '\\Seen' } });
  });

  it('reads an empty BODY or TEXT string as ALL, and an empty header string as "has the field"', () => {
    expect(request('TEXT ""').criteria).toStrictEqual({ kind: 'all' });
    expect(request('HEADER X-Spam ""').criteria).toStrictEqual({ kind: 'header', field: 'x-spam', mode: 'plain', key: '' });
  });
});

describe('running searches', () => {
  const ctx = mailbox(
    [
      { headers: ['From: Bob <bob@x.test>', 'Subject: Hello', 'Date: Mon, 1 Jan 2024 23:30:00 -0500'], body: 'The needle.', flags: ['\\Seen', 'Urgent'] },
      { headers: ['From: alice@x.test', 'Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=', 'X-Spam: yes'], body: 'hay', flags: ['\\Flagged', '$Label1'] },
      {
        headers: ['To: bob@x.test', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64'],
        body: Buffer.from('Ünïcode needle').toString('base64'),
        flags: ['\\Deleted', '\\Seen'],
      },
      { headers: ['Subject: html', 'Content-Type: text/html'], body: '<p>A&amp;B</p>', date: '2024-01-03T00:00:00Z' },
    ],
    [1],
  );

  it('matches flags, keywords (any case; never system flags) and \\Recent', () => {
    expect(search(ctx, 'SEEN')).toStrictEqual([1, 3]);
    expect(search(ctx, 'UNSEEN UNDELETED')).toStrictEqual([2, 4]);
    expect(search(ctx, 'KEYWORD urgent')).toStrictEqual([1]);
    expect(search(ctx, 'UNKEYWORD $label1')).toStrictEqual([1, 3, 4]);
    expect(search(ctx, 'KEYWORD \\Seen')).toStrictEqual([]);
    expect(search(ctx, 'RECENT')).toStrictEqual([2]);
    expect(search(ctx, 'NEW')).toStrictEqual([2]);
    expect(search(ctx, 'OLD')).toStrictEqual([1, 3, 4]);
  });

  it('matches sequence sets and UID sets, * being the last one', () => {
    expect(search(ctx, '2:*')).toStrictEqual([2, 3, 4]);
    expect(search(ctx, '9:*')).toStrictEqual([4]);
    expect(search(ctx, 'UID 15:30')).toStrictEqual([2, 3]);
    expect(search(ctx, 'UID 99:*')).toStrictEqual([4]);
    expect(search(ctx, 'NOT 1,3')).toStrictEqual([2, 4]);
  });

  it('compares the Date: field day in its own zone and INTERNALDATE days in UTC', () => {
    expect(search(ctx, 'SENTON 1-Jan-2024')).toStrictEqual([1]);
    expect(search(ctx, 'SENTBEFORE 2-Jan-2024')).toStrictEqual([1, 2, 3, 4]);
    expect(search(ctx, 'SENTSINCE 2-Jan-2024')).toStrictEqual([]);
    expect(search(ctx, 'ON 3-Jan-2024')).toStrictEqual([3, 4]);
    expect(search(ctx, 'BEFORE 2-Jan-2024')).toStrictEqual([1]);
    expect(search(ctx, 'SINCE 3-Jan-2024')).toStrictEqual([3, 4]);
  });

  describe('RFC 5032 OLDER and YOUNGER', () => {
    afterEach(() => vi.useRealTimers());

    it('measures from the time of the search', () => {
      vi.useFakeTimers({ now: Date.parse('2024-01-03T12:00:00Z') });
      expect(search(ctx, 'YOUNGER 86400')).toStrictEqual([2, 3, 4]);
      expect(search(ctx, 'OLDER 86400')).toStrictEqual([1, 2]);
    });
  });

  it('decodes headers and bodies and compares case-insensitively', () => {
    expect(search(ctx, 'FROM "BOB <BOB@"')).toStrictEqual([1]);
    expect(search(ctx, 'CHARSET UTF-8 SUBJECT "grüsse"')).toStrictEqual([]);
    expect(search(ctx, 'CHARSET UTF-8 SUBJECT "GRÜSSE"')).toStrictEqual([]);
    expect(search(ctx, 'CHARSET UTF-8 SUBJECT "grüß"')).toStrictEqual([2]);
    expect(search(ctx, 'BODY needle')).toStrictEqual([1, 3]);
    expect(search(ctx, 'CHARSET UTF-8 BODY "ünï"')).toStrictEqual([3]);
    expect(search(ctx, 'BODY "a&amp;b"')).toStrictEqual([4]);
    expect(search(ctx, 'BODY "subject"')).toStrictEqual([]);
    expect(search(ctx, 'TEXT "subject: hello"')).toStrictEqual([1]);
    expect(search(ctx, 'HEADER x-spam ""')).toStrictEqual([2]);
    expect(search(ctx, 'LARGER 76 SMALLER 92')).toStrictEqual([1]);
    expect(search(ctx, 'SMALLER 91')).toContain(2);
  });

  it('answers ESEARCH with the options in RFC 4731 order, and COUNT 0 alone when nothing matches', () => {
    const hits = runSearch(request('SEEN'), ctx);
    expect(searchResponse(hits, request('RETURN (COUNT ALL MAX MIN) SEEN', true), ctx, { uid: true, tag: 'a1' })).toBe(
      '* ESEARCH (TAG "a1") UID MIN 10 MAX 30 ALL 10,30 COUNT 2\r\n',
    );
    expect(searchResponse([], request('RETURN (MIN MAX ALL COUNT) SEEN', true), ctx, { uid: false, tag: 'b' })).toBe('* ESEARCH (TAG "b") COUNT 0\r\n');
    expect(searchResponse([], request('RETURN (MIN) SEEN', true), ctx, { uid: false, tag: 'b' })).toBe('* ESEARCH (TAG "b")\r\n');
    expect(searchResponse(hits, request('SEEN'), ctx, { uid: false, tag: 'c' })).toBe('* SEARCH 1 3\r\n');
    expect(searchResponse([], request('SEEN'), ctx, { uid: false, tag: 'c' })).toBe('* SEARCH\r\n');
  });
});

describe('the pieces Dovecot compatibility rests on', () => {
  it('casemaps like i;unicode-casemap: titlecase, then decomposed', () => {
    expect(casemap('Hello wörld')).toBe('HELLO WO\u0308RLD');
    expect(casemap('ß ǆ ﬁ')).toBe('ß Dz\u030c fi');
    expect(casemap('a\ufffd\ufffd\ufffdb')).toBe('A\ufffdB');
    expect(casemap('\u{10428}x')).toBe('\u{10400}X');
    expect(compareCodePoints('\u{1f600}', '\uffff')).toBe(1);
    expect(compareCodePoints('abc', 'abd')).toBe(-1);
  });

  it('decodes encoded words anywhere, dropping the space between two of them', () => {
    expect(decodeHeaderValue('=?utf-8?q?a_b?= =?iso-8859-1?b?6Q==?= c')).toBe('a bé c');
    expect(decodeHeaderValue('x=?utf-8?q?y?=z')).toBe('xyz');
    expect(decodeHeaderValue('=?bad word')).toBe('=?bad word');
    expect(decodeHeaderValue('=?utf-8?x?abc?=')).toBe('=?utf-8?x?abc?=');
  });

  it('decodes base64 up to its first stray character, and quoted-printable leniently', () => {
    expect(decodeBase64(Buffer.from('aGVs\r\nbG8=IGdhcmJhZ2U=')).toString()).toBe('hello');
    expect(decodeBase64(Buffer.from('aGVsbG8!d29ybGQ')).toString()).toBe('hello');
    expect(decodeQuotedPrintable(Buffer.from('a=3d=3Db  \r\nsoft=\r\nbreak =x')).toString()).toBe('a==b\r\nsoftbreak =x');
  });

  it.each([
    ['Re: Hello', 'HELLO', true],
    ['RE:hello', 'HELLO', true],
    ['Re: re: Fwd: hello', 'HELLO', true],
    ['Fw: hello', 'HELLO', true],
    ['[list] Re: hello', 'HELLO', true],
    ['Re: [list] hello', 'HELLO', true],
    ['re [x]: hello', 'HELLO', true],
    ['[list]', '[LIST]', false],
    ['[a][b] hello', 'HELLO', false],
    ['hello (fwd)  (FWD) ', 'HELLO', true],
    ['[fwd: hello]', 'HELLO', true],
    ['Re: [Fwd: Re: hello (fwd)]', 'HELLO', true],
    ['  spaced \t  out  ', 'SPACED OUT', false],
    // Dovecot reads this "FOLDED  HERE", two spaces; RFC 5256 §2.1 step 1 says one.
    ['Re: folded \r\n\there', 'FOLDED HERE', true],
    ['=?utf-8?q?Re=3A_caf=C3=A9?=', 'CAFE\u0301', true],
    ['Re:', '', true],
    ['', '', false],
  ])('takes the RFC 5256 base subject of %j', (subject, base, replyOrForward) => {
    expect(baseSubject(subject)).toStrictEqual({ subject: base, replyOrForward });
  });

  it('reads Date: fields as Dovecot does, obsolete forms included', () => {
    expect(parseMessageDate('Mon, 1 Apr 2024 10:00:00 +0200')).toStrictEqual({ time: Date.UTC(2024, 3, 1, 8) / 1000, zone: 120 });
    expect(parseMessageDate('1 apr 24 10:00 EDT')).toStrictEqual({ time: Date.UTC(2024, 3, 1, 14) / 1000, zone: -240 });
    expect(parseMessageDate(' 1 Apr 99 10.00.30 (comment) GMT')).toStrictEqual({ time: Date.UTC(1999, 3, 1, 10, 0, 30) / 1000, zone: 0 });
    expect(parseMessageDate('Wed, 28 Feb 2024 23:59:60 +0000')).toStrictEqual({ time: Date.UTC(2024, 1, 28, 23, 59, 59) / 1000, zone: 0 });
    for (const bad of ['Mon 1 Apr 2024 10:00:00', '30 Feb 2024 10:00', '1 Apr 2024 24:00', '1 Apr 1899 10:00', 'yesterday', '1 Apr 2024 10:00 ,x', '']) {
      expect(parseMessageDate(bad)).toBeNull();
    }
    expect(parseMessageDate('1 Jan 1969 00:00:00 +0000')).toStrictEqual({ time: -365 * 86400, zone: 0 });
  });

  it('reads RFC 3501 search dates, an impossible day up to 2000 as the start of time', () => {
    expect(parseSearchDate('1-Feb-2024')).toBe(Date.UTC(2024, 1, 1) / 1000);
    expect(parseSearchDate(' 1-feb-2024')).toBe(Date.UTC(2024, 1, 1) / 1000);
    expect(parseSearchDate('31-Feb-1999')).toBe(-(2 ** 31));
    for (const bad of ['31-Feb-2024', '1-Feb-24', '001-Feb-2024', '1 Feb 2024', '1-Feb-2024 ', '0-Feb-2024']) expect(parseSearchDate(bad)).toBeNull();
  });

  it('reads message identifiers the way Dovecot threads them', () => {
    expect(messageIds('<a@b> junk <c@d>')).toStrictEqual(['a@b', 'c@d']);
    expect(messageIds('<no-at-sign> < x @ y >')).toStrictEqual(['x@y']);
    expect(messageIds('<"quoted local"@x> <a (c) @b>')).toStrictEqual(['quoted local@x', 'a@b']);
    expect(messageIds('<unterminated@x')).toStrictEqual([]);
  });
});

describe('SORT', () => {
  const ctx = mailbox([
    { headers: ['From: Zed <zed@x>', 'To: b@x', 'Subject: Re: beta', 'Date: Tue, 2 Jan 2024 00:00:00 +0000'], body: 'aaaa' },
    { headers: ['From: ALPHA@x', 'Subject: alpha', 'Date: Tue, 2 Jan 2024 00:00:00 +0000'], body: 'a' },
    { headers: ['From: beta@x', 'To: a@x', 'Subject: [list] Beta'], body: 'aa\naa' },
    { headers: ['Subject: Alpha (fwd)', 'Date: Mon, 1 Jan 2024 00:00:00 +0000'], body: 'aaa' },
  ]);

  function sorted(text: string): number[] {
    const parsed = parseSort(args(text));
    if ('error' in parsed) throw new Error(parsed.error);
    return runSort(parsed, ctx).map((i) => i + 1);
  }

  it('orders by each RFC 5256 criterion, ties by sequence number, REVERSE flipping only its own criterion', () => {
    expect(sorted('(SUBJECT) UTF-8 ALL')).toStrictEqual([2, 4, 1, 3]);
    expect(sorted('(REVERSE SUBJECT) UTF-8 ALL')).toStrictEqual([1, 3, 2, 4]);
    expect(sorted('(FROM) UTF-8 ALL')).toStrictEqual([4, 2, 3, 1]);
    expect(sorted('(TO REVERSE DATE) UTF-8 ALL')).toStrictEqual([2, 4, 3, 1]);
    // Message 3 has no Date: field and sorts by its INTERNALDATE, 3 Jan.
    expect(sorted('(DATE) UTF-8 ALL')).toStrictEqual([4, 1, 2, 3]);
    expect(sorted('(REVERSE DATE) UTF-8 ALL')).toStrictEqual([3, 1, 2, 4]);
    expect(sorted('(SIZE ARRIVAL) UTF-8 ALL')).toStrictEqual([3, 4, 2, 1]);
    expect(sorted('(REVERSE ARRIVAL) US-ASCII 2:*')).toStrictEqual([4, 3, 2]);
  });

  it('counts a repeated criterion once, its REVERSE carrying over as in Dovecot', () => {
    expect(sorted('(DATE REVERSE DATE SIZE) UTF-8 ALL')).toStrictEqual(sorted('(DATE REVERSE SIZE) UTF-8 ALL'));
  });

  it.each([
    ['ALL', 'Sort criteria must be a list'],
    ['() UTF-8 ALL', 'Empty sort criteria'],
    ['(DATE REVERSE) UTF-8 ALL', 'Sort criteria end with REVERSE'],
    ['(SCORE) UTF-8 ALL', 'Unknown sort criterion SCORE'],
    ['(DATE)', 'Missing or invalid charset'],
    ['(DATE) UTF-8', 'Missing search keys'],
    ['((DATE)) UTF-8 ALL', 'Unknown sort criterion '],
  ])('refuses %j', (text, error) => {
    expect(parseSort(args(text))).toStrictEqual({ error });
  });

  it('asks for BADCHARSET', () => {
    expect(parseSort(args('(DATE) KOI8-R ALL'))).toMatchObject({ code: 'BADCHARSET' });
  });
});

describe('THREAD', () => {
  function threads(ctx: SearchContext, text: string, uid = false): string {
    const parsed = parseThread(args(text));
    if ('error' in parsed) throw new Error(parsed.error);
    return threadResponse(parsed, ctx, { uid });
  }

  const ctx = mailbox([
    { headers: ['Message-ID: <1@x>', 'Subject: Plan', 'Date: Mon, 1 Jan 2024 10:00:00 +0000'] },
    { headers: ['Message-ID: <2@x>', 'Subject: Re: Plan', 'In-Reply-To: <1@x>', 'Date: Mon, 1 Jan 2024 11:00:00 +0000'] },
    { headers: ['Message-ID: <3@x>', 'Subject: Re: Plan', 'References: <1@x> <2@x>', 'Date: Mon, 1 Jan 2024 12:00:00 +0000'] },
    { headers: ['Message-ID: <4@x>', 'Subject: Re: Plan', 'References: <1@x>', 'Date: Mon, 1 Jan 2024 09:00:00 +0000'] },
    { headers: ['Message-ID: <5@x>', 'Subject: Other', 'References: <gone@x>', 'Date: Sun, 31 Dec 2023 10:00:00 +0000'] },
    { headers: ['Message-ID: <6@x>', 'Subject: Other', 'References: <gone@x>', 'Date: Sun, 31 Dec 2023 11:00:00 +0000'] },
    { headers: ['Message-ID: <7@x>', 'Subject: Re: Plan', 'Date: Tue, 2 Jan 2024 10:00:00 +0000'] },
  ]);

  it('threads by references, gathering roots by subject (RFC 5256 §3 REFERENCES)', () => {
    expect(threads(ctx, 'REFERENCES UTF-8 ALL')).toBe('* THREAD ((5)(6))(1 (4)(2 3)(7))\r\n');
    expect(threads(ctx, 'REFERENCES UTF-8 ALL', true)).toBe('* THREAD ((50)(60))(10 (40)(20 30)(70))\r\n');
    expect(threads(ctx, 'REFERENCES UTF-8 NOT 1')).toBe('* THREAD ((5)(6))((4)(2 3)(7))\r\n');
    expect(threads(ctx, 'REFERENCES UTF-8 2:3')).toBe('* THREAD (2 3)\r\n');
  });

  it('threads by subject (RFC 5256 §3 ORDEREDSUBJECT)', () => {
    expect(threads(ctx, 'ORDEREDSUBJECT UTF-8 ALL')).toBe('* THREAD (5 6)(4 (1)(2)(3)(7))\r\n');
    expect(threads(ctx, 'orderedsubject UTF-8 1:2')).toBe('* THREAD (1 2)\r\n');
  });

  it('answers "* THREAD" for no match, as RFC 5256 §5 thread-data reads', () => {
    expect(threads(ctx, 'REFERENCES UTF-8 DELETED')).toBe('* THREAD\r\n');
    expect(threads(ctx, 'ORDEREDSUBJECT UTF-8 DELETED')).toBe('* THREAD\r\n');
  });

  it('handles reply chains thousands deep without recursion, in linear time', () => {
    const depth = 20_000;
    const deep = mailbox(
      Array.from({ length: depth }, (_, i) => ({
        headers: [`Message-ID: <m${i}@x>`, `Subject: Re: chain`, ...(i > 0 ? [`In-Reply-To: <m${i - 1}@x>`] : [])],
      })),
    );
    const { result: reply, ms } = cpuTime(() => threads(deep, 'REFERENCES UTF-8 ALL'));
    expect(ms).toBeLessThan(5_000);
    expect(reply).toBe(`* THREAD (${Array.from({ length: depth }, (_, i) => i + 1).join(' ')})\r\n`);
  });

  it('keeps the first parent and drops links that would make a loop (RFC 5256 §3 REFERENCES step 1)', () => {
    const loops = mailbox([
      { headers: ['Message-ID: <a@x>', 'References: <b@x>', 'Subject: a'] },
      { headers: ['Message-ID: <b@x>', 'References: <a@x>', 'Subject: b'] },
      { headers: ['Message-ID: <c@x>', 'References: <c@x>', 'Subject: c'] },
      { headers: ['Message-ID: <a@x>', 'Subject: duplicate of a'] },
    ]);
    // 1 got parent <b@x> first; 2's reference back to <a@x> would close a loop.
    expect(threads(loops, 'REFERENCES UTF-8 ALL')).toBe('* THREAD (2 1)(3)(4)\r\n');
  });

  it.each([
    ['', 'Unknown thread algorithm '],
    ['REFS UTF-8 ALL', 'Unknown thread algorithm REFS'],
    ['REFERENCES', 'Missing or invalid charset'],
    ['REFERENCES UTF-8', 'Missing search keys'],
    ['REFERENCES UTF-8 FOO', 'Unknown search key FOO'],
  ])('refuses %j', (text, error) => {
    expect(parseThread(args(text))).toStrictEqual({ error });
  });
});

describe('never throwing', () => {
  const words = [
    'ALL', 'ANSWERED', 'BCC', 'BEFORE', 'BODY', 'CC', 'DELETED', 'DRAFT', 'FLAGGED', 'FROM', 'HEADER', 'KEYWORD', 'LARGER', 'NEW', 'NOT',
    'OLD', 'ON', 'OR', 'RECENT', 'SEEN', 'SENTBEFORE', 'SENTON', 'SENTSINCE', 'SINCE', 'SMALLER', 'SUBJECT', 'TEXT', 'TO', 'UID',
    'UNANSWERED', 'UNDELETED', 'UNDRAFT', 'UNFLAGGED', 'UNKEYWORD', 'UNSEEN', 'OLDER', 'YOUNGER', 'CHARSET', 'UTF-8', 'US-ASCII',
    'RETURN', 'MIN', 'MAX', 'COUNT', 'REVERSE', 'DATE', 'ARRIVAL', 'SIZE', 'REFERENCES', 'ORDEREDSUBJECT', '1', '0', '*', '2:*',
    '1,3:5', '4294967295', '4294967296', '1-Jan-2024', '31-Feb-1999', 'x', '\\Seen', '$', '',
  ];
  const atom = fc.constantFrom(...words).map((value): ImapValue => ({ type: 'atom', value }));
  const string = fc
    .oneof(fc.string(), fc.constantFrom('', 'é', '1-Jan-2024', '100', 'Subject'), fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b).toString('latin1')))
    .map((text): ImapValue => ({ type: 'string', value: Buffer.from(text, 'latin1'), literal: false }));
  const { value: valueArb } = fc.letrec<{ value: ImapValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      atom,
      string,
      fc.array(tie('value'), { maxLength: 5 }).map((items): ImapValue => ({ type: 'list', items })),
    ),
  }));
  const tokens = fc.array(valueArb, { maxLength: 12 });

  const ctx = mailbox([
    { headers: ['From: a@b', 'Subject: Re: x', 'Message-ID: <1@x>'], body: 'body', flags: ['\\Seen'] },
    { headers: ['References: <1@x> <1@x>', 'Content-Type: multipart/mixed; boundary=b'], body: '--b\r\n\r\npart\r\n--b--' },
    { headers: [], body: '' },
  ]);

  it('parses, runs and answers random token lists without throwing', () => {
    fc.assert(
      fc.property(tokens, fc.boolean(), (values, esearch) => {
        const parsed = parseSearch(values, { esearch });
        if (!('error' in parsed)) searchResponse(runSearch(parsed, ctx), parsed, ctx, { uid: esearch, tag: 't' });
        const sort = parseSort(values);
        if (!('error' in sort)) runSort(sort, ctx);
        const thread = parseThread(values);
        if (!('error' in thread)) threadResponse(thread, ctx, { uid: esearch });
      }),
      { numRuns: 3000 },
    );
  });

  const fragment = fc.constantFrom(
    'From: ', 'To: ', 'Subject: ', 'Date: ', 'Message-ID: ', 'References: ', 'In-Reply-To: ', 'Content-Type: ', 'Content-Transfer-Encoding: ',
    'text/plain', 'multipart/mixed; boundary=b', 'message/rfc822', 'base64', 'quoted-printable', 'x-uuencode', '<a@b>', '<', '>', '"', '(',
    ')', '@', ',', ';', ':', '=?utf-8?q?x?=', '=?', '?=', 'Re: ', '[x]', '(fwd)', '1 Jan 2024 10:00 +0000', '\r\n', '\n', '\r\n\r\n',
    '--b\r\n', '--b--', ' ', '\t', '=3D', '=', 'é', '\u00ff', '\0',
  );
  const message = fc.array(fragment, { maxLength: 40 }).map((parts) => parts.join(''));

  it('searches, sorts and threads random messages without throwing', () => {
    const requests = [
      'TEXT "a"', 'BODY "=?"', 'FROM "a"', 'SUBJECT "x"', 'HEADER Date "1"', 'SENTON 1-Jan-2024', 'LARGER 10', 'OR TO "b" CC "c"', 'BCC ""',
    ].map((text) => request(text));
    const sorts = ['(SUBJECT FROM TO CC DATE SIZE ARRIVAL) UTF-8 ALL', '(REVERSE DATE) UTF-8 ALL'].map((text) => parseSort(args(text)));
    const threadRequests = ['REFERENCES UTF-8 ALL', 'ORDEREDSUBJECT UTF-8 ALL'].map((text) => parseThread(args(text)));
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 6 }), (raws) => {
        const box = mailbox(raws.map((raw) => ({ headers: [raw] })));
        for (const r of requests) runSearch(r, box);
        for (const s of sorts) if (!('error' in s)) runSort(s, box);
        for (const t of threadRequests) if (!('error' in t)) threadResponse(t, box, { uid: false });
      }),
      { numRuns: 500 },
    );
  });
});
