import { describe, expect, it } from 'vitest';
import { cleanString } from '../../server/src/api/compat/mailpit/clean.js';
import { MailpitContext } from '../../server/src/api/compat/mailpit/context.js';
import { parseSearchDate, searchZone } from '../../server/src/api/compat/mailpit/dates.js';
import { MailpitFacts } from '../../server/src/api/compat/mailpit/facts.js';
import { compileSearch, MAX_SEARCH_TERMS, SearchError, sizeToBytes, splitArgs } from '../../server/src/api/compat/mailpit/search.js';
import { MessageStore } from '../../server/src/store/message-store.js';

/** Mailpit's search (internal/storage/search.go v1.30.5) over a store, as the /api/v1/search route runs it. */
async function fixture() {
  const store = new MessageStore({ maxMessages: 100, maxBytes: 10e6 });
  const facts = new MailpitFacts(store, { factsBytes: 1e6, textBytes: 1e6 });
  const context = new MailpitContext(store, facts);
  const add = (lines: string[], options: { rcptTo?: string[]; receivedAt?: number; mailFrom?: string } = {}) =>
    store.add({
      raw: Buffer.from(lines.join('\r\n')),
      envelope: { mailFrom: options.mailFrom ?? 'bounce@app.test', rcptTo: options.rcptTo ?? ['bob@example.test'] },
      smtp: { helo: null, remoteAddress: null, authUser: null, tls: false },
      receivedAt: options.receivedAt ?? Date.UTC(2024, 0, 31, 12, 0, 0),
    });
  const reset = await add(
    [
      'From: "Ann Admin" <ann@app.test>',
      'To: Bob Example <bob@example.test>',
      'Reply-To: help@app.test',
      'Message-ID: <reset-42@app.test>',
      'Subject: Reset your password',
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'Your code is 123456, valid (for now).',
      '--b',
      'Content-Type: application/pdf; name=terms-2024.pdf',
      'Content-Disposition: attachment; filename=terms-2024.pdf',
      '',
      'PDF',
      '--b--',
      '',
    ],
    { receivedAt: Date.UTC(2024, 0, 30, 23, 30, 0) },
  );
  const welcome = await add(
    [
      'From: carl@app.test',
      'To: =?UTF-8?Q?=C3=89mile?= <emile@example.test>',
      'Cc: Dana <dana@example.test>',
      'Subject: =?UTF-8?Q?Welcome_=C3=89mile?=',
      'Content-Type: multipart/related; boundary=r',
      '',
      '--r',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<html><head><style>p{color:red}</style></head><body><p>Welcome&nbsp;aboard, <b>friend</b></p><img src="cid:logo"></body></html>',
      '--r',
      'Content-Type: image/png',
      'Content-ID: <logo>',
      'Content-Disposition: inline; filename=logo.png',
      '',
      'PNG',
      '--r--',
      '',
    ],
    { rcptTo: ['emile@example.test', 'dana@example.test', 'hidden@example.test'], receivedAt: Date.UTC(2024, 1, 1, 0, 30, 0) },
  );
  const big = await add(['From: big@app.test', 'To: team@example.test', 'Subject: Monthly_report 100%', '', 'x'.repeat(3000), ''], {
    receivedAt: Date.UTC(2024, 1, 2, 9, 0, 0),
    mailFrom: '',
  });
  const ids = (query: string, tz = 'UTC') =>
    store
      .page(compileSearch(query, context.source, searchZone(tz)), 0, 100)
      .messages.map((m) => m.id)
      .sort();
  const sorted = (...list: { id: string }[]) => list.map((m) => m.id).sort();
  return { store, ids, sorted, reset, welcome, big, all: sorted(reset, welcome, big) };
}

describe("Mailpit's search syntax", () => {
  it('splits on spaces only, a double quote toggling a phrase, every quote then dropped', () => {
    expect(splitArgs('subject:"hello world" "subject:hello world" -to:bob\tx  !is:read "" a"b c"d')).toStrictEqual([
      'subject:hello world',
      'subject:hello world',
      '-to:bob\tx',
      '!is:read',
      'ab cd',
    ]);
    expect(splitArgs('  "unterminated phrase ')).toStrictEqual(['unterminated phrase']);
  });

  it("cleans values as Mailpit's cleanString does", () => {
    expect(cleanString('  <Ann>, "Bob";\t(x)\r\nY \uFEFF Z ')).toBe('ann bob x y z');
    expect(cleanString('<>')).toBe('');
  });

  it('reads sizes as sizeToBytes does, 0 for anything it does not know', () => {
    expect([sizeToBytes('2kb'), sizeToBytes('2K'), sizeToBytes('1.5m'), sizeToBytes('5 kb'), sizeToBytes('10'), sizeToBytes('10.9')]).toStrictEqual([2048, 2048, 1572864, 5120, 10, 10]);
    expect([sizeToBytes('0'), sizeToBytes('5gb'), sizeToBytes('abc'), sizeToBytes('-1'), sizeToBytes('')]).toStrictEqual([0, 0, 0, 0, 0]);
  });

  it('reads the date layouts people type, in the tz zone when the date names none', () => {
    expect(parseSearchDate('2024-01-31', 'UTC')).toBe(Date.UTC(2024, 0, 31));
    expect(parseSearchDate('2024/01/31', 'UTC')).toBe(Date.UTC(2024, 0, 31));
    expect(parseSearchDate('01/31/2024', 'UTC')).toBe(Date.UTC(2024, 0, 31));
    expect(parseSearchDate('31 JAN 2024', 'UTC')).toBe(Date.UTC(2024, 0, 31));
    expect(parseSearchDate('January 31 2024', 'UTC')).toBe(Date.UTC(2024, 0, 31));
    expect(parseSearchDate('Wed 31 Jan 2024 10:00:00', 'UTC')).toBe(Date.UTC(2024, 0, 31, 10));
    expect(parseSearchDate('20240131', 'UTC')).toBe(Date.UTC(2024, 0, 31));
    expect(parseSearchDate('2024-01-31T10:00:00', 'America/New_York')).toBe(Date.UTC(2024, 0, 31, 15));
    expect(parseSearchDate('2024-07-01 10:00', 'America/New_York')).toBe(Date.UTC(2024, 6, 1, 14));
    expect(parseSearchDate('2024-01-31T10:00:00+02:00', 'America/New_York')).toBe(Date.UTC(2024, 0, 31, 8));
    expect(parseSearchDate('2024-01-31t10:00:00.5z', null)).toBe(Date.UTC(2024, 0, 31, 10, 0, 0, 500));
    expect(parseSearchDate('1706659200', null)).toBe(1706659200_000);
    for (const bad of ['2024-02-30', '2023-02-29', '2024-13-01', 'yesterday', '2024-01-31T25:00', '']) expect(parseSearchDate(bad, 'UTC'), bad).toBeNull();
    expect(searchZone('Not/AZone')).toBeNull();
    expect(searchZone('Europe/Paris')).toBe('Europe/Paris');
  });

  it('matches address lists as the JSON Mailpit stores them, with LIKE wildcards', async () => {
    const { ids, sorted, reset, welcome, big, all } = await fixture();
    const cases: [string, string[]][] = [
      ['to:bob', sorted(reset)],
      ['TO:Bob@Example.test', sorted(reset)],
      ['from:"ann admin"', sorted(reset)],
      ['-from:ann', sorted(welcome, big)],
      ['!from:ann', sorted(welcome, big)],
      ['cc:dana', sorted(welcome)],
      // Envelope recipients missing from the header are Mailpit's Bcc.
      ['bcc:hidden@example.test', sorted(welcome)],
      ['reply-to:help', sorted(reset)],
      ['addressed:dana', sorted(welcome)],
      ['-addressed:example.test', []],
      // `_` and `%` stay SQL wildcards; the stored JSON's own keys match too.
      ['to:b_b@', sorted(reset)],
      ['to:b%example', sorted(reset)],
      ['to:address', all],
      ['to:"bob example"', sorted(reset)],
      // Names are decoded, but LIKE folds ASCII case only and Mailpit lower-cases the value: `É` is never found.
      ['to:Émile', []],
      ['to:mile', sorted(welcome)],
      // An absent list is '{}' to Mailpit, so even `{` finds it.
      ['cc:{}', sorted(reset, big)],
      ['to:', all],
    ];
    for (const [query, expected] of cases) expect(ids(query), query).toStrictEqual(expected);
  });

  it('matches subject, message id, flags, attachments, inlines, tags, sizes and dates', async () => {
    const { store, ids, sorted, reset, welcome, big, all } = await fixture();
    expect(ids('subject:"reset your"')).toStrictEqual(sorted(reset));
    expect(ids('subject:RESET')).toStrictEqual(sorted(reset));
    expect(ids('subject:Émile')).toStrictEqual(sorted(welcome));
    expect(ids('subject:monthly_report')).toStrictEqual(sorted(big));
    expect(ids('subject:monthlyXreport')).toStrictEqual([]);
    expect(ids('subject:report%')).toStrictEqual(sorted(big));
    expect(ids('message-id:<reset-42')).toStrictEqual(sorted(reset));
    expect(ids('has:attachment')).toStrictEqual(sorted(reset));
    expect(ids('-has:attachments')).toStrictEqual(sorted(welcome, big));
    expect(ids('has:inline')).toStrictEqual(sorted(welcome));
    expect(ids('tag:anything')).toStrictEqual([]);
    expect(ids('-tag:anything')).toStrictEqual(all);
    expect(ids('is:tagged')).toStrictEqual([]);
    await store.setRead(reset.id, true);
    expect(ids('is:read')).toStrictEqual(sorted(reset));
    expect(ids('IS:UNREAD')).toStrictEqual(sorted(welcome, big));
    expect(ids('-is:read')).toStrictEqual(sorted(welcome, big));
    expect(ids('larger:2kb')).toStrictEqual(sorted(big));
    expect(ids('smaller:2k')).toStrictEqual(sorted(reset, welcome));
    expect(ids('-larger:2kb')).toStrictEqual(sorted(reset, welcome));
    expect(ids(`larger:${big.raw.length}`)).toStrictEqual([]);
    // Both date bounds are inclusive, and so are their negations.
    expect(ids('after:2024-02-01')).toStrictEqual(sorted(welcome, big));
    expect(ids('before:2024-01-31')).toStrictEqual(sorted(reset));
    expect(ids('after:"2024-02-02 09:00"')).toStrictEqual(sorted(big));
    expect(ids('-after:"2024-02-02 09:00"')).toStrictEqual(sorted(reset, welcome, big));
    expect(ids('before:"2024-02-02 09:00:00"')).toStrictEqual(all);
    expect(ids('after:2024-01-31', 'Asia/Tokyo')).toStrictEqual(sorted(reset, welcome, big));
    expect(ids('after:2024-02-01', 'America/Los_Angeles')).toStrictEqual(sorted(big));
    expect(ids('after:"Feb 1, 2024"')).toStrictEqual(sorted(welcome, big));
  });

  it('searches free words in the headers, the body (HTML as text) and file names', async () => {
    const { ids, sorted, reset, welcome, big, all } = await fixture();
    expect(ids('123456')).toStrictEqual(sorted(reset));
    expect(ids('"code is 123456"')).toStrictEqual(sorted(reset));
    expect(ids('CODE 123456')).toStrictEqual(sorted(reset));
    expect(ids('"valid for now"')).toStrictEqual(sorted(reset));
    expect(ids('terms-2024.pdf')).toStrictEqual(sorted(reset));
    expect(ids('"welcome aboard friend"')).toStrictEqual(sorted(welcome));
    expect(ids('color:red')).toStrictEqual([]);
    expect(ids('bounce@app.test')).toStrictEqual(sorted(reset, welcome));
    expect(ids('-ann')).toStrictEqual(sorted(welcome, big));
    // A prefix Mailpit does not know is text; so are larger: and smaller: with a size of 0 or none.
    expect(ids('foo:bar')).toStrictEqual([]);
    expect(ids('larger:0')).toStrictEqual([]);
    expect(ids('larger:big')).toStrictEqual([]);
    // A date Mailpit cannot parse is ignored, not searched for.
    expect(ids('after:someday')).toStrictEqual(all);
    // Words that clean to nothing are skipped; a lone `-` is a word, not a negation.
    expect(compileSearch('<> ( ) ""', { facts: () => { throw new Error('unused'); }, text: () => '' }, null)).toBeNull();
    expect(ids('-')).toStrictEqual(sorted(reset));
    expect(ids('- -<>')).toStrictEqual([]);
  });

  it("refuses queries past Mailroom's limits instead of running them", async () => {
    const { ids } = await fixture();
    expect(() => ids('x '.repeat(MAX_SEARCH_TERMS + 1))).toThrow(SearchError);
    expect(() => ids('y'.repeat(2000))).toThrow('search query is longer than 1024 characters');
  });

  it('keeps wildcard searches linear however the pattern and the text are made', async () => {
    const store = new MessageStore({ maxMessages: 10, maxBytes: 10e6 });
    const facts = new MailpitFacts(store, { factsBytes: 1e6, textBytes: 10e6 });
    const context = new MailpitContext(store, facts);
    await store.add({
      raw: Buffer.from(`Subject: ${'a'.repeat(900)}\r\n\r\n${'a'.repeat(256 * 1024)}\r\n`),
      envelope: { mailFrom: 'a@app.test', rcptTo: ['b@app.test'] },
      smtp: { helo: null, remoteAddress: null, authUser: null, tls: false },
    });
    const started = performance.now();
    const filter = compileSearch(`${'a_'.repeat(400)}b subject:${'a%'.repeat(100)}b`, context.source, null)!;
    expect(store.page(filter, 0, 10).total).toBe(0);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
