import { describe, expect, it } from 'vitest';
import { searchText } from '../../server/src/mime/digest.js';
import { compileQuery, QueryError, tokenize } from '../../server/src/search/query.js';
import { MessageStore } from '../../server/src/store/message-store.js';
import type { StoredMessage } from '../../server/src/store/types.js';

describe('query language', () => {
  it('tokenizes words, phrases, keys and negation', () => {
    expect(tokenize('hello "big world" from:ann -subject:"out of office" -spam to: ')).toStrictEqual([
      { negated: false, key: null, value: 'hello' },
      { negated: false, key: null, value: 'big world' },
      { negated: false, key: 'from', value: 'ann' },
      { negated: true, key: 'subject', value: 'out of office' },
      { negated: true, key: null, value: 'spam' },
      { negated: false, key: null, value: 'to:' },
    ]);
  });

  it('reads an unterminated quote to the end', () => {
    expect(tokenize('subject:"half open')).toStrictEqual([{ negated: false, key: 'subject', value: 'half open' }]);
  });

  // Lower-cased, as BodyTexts keeps it.
  const text = (m: StoredMessage) => searchText(m.raw, m.digest.textPart).toLowerCase();

  it('matches against stored messages', async () => {
    const store = new MessageStore({ maxMessages: 10, maxBytes: 1e6 });
    const add = (raw: string, rcptTo: string[] = ['x@example.com']) =>
      store.add({ raw: Buffer.from(raw), envelope: { mailFrom: 'bounce@app.test', rcptTo }, smtp: { helo: null, remoteAddress: null, authUser: null, tls: false } });
    const a = await add('From: Ann <ann@app.test>\r\nTo: bob@example.com\r\nSubject: Reset (1+1)\r\n\r\nhttps://app.test/reset?x=1\r\n');
    const b = await add('From: carl@app.test\r\nSubject: =?UTF-8?B?w4lsw6hu?=\r\n\r\nbody\r\n', ['hidden@example.com']);
    const ids = (query: string) => store.page(compileQuery(query, text), 0, 10).messages.map((m) => m.id);
    expect(ids('(1+1)')).toStrictEqual([a.id]);
    expect(ids('https://app.test/reset?x=1')).toStrictEqual([a.id]);
    expect(ids('élèn')).toStrictEqual([b.id]);
    expect(ids('from:bounce')).toStrictEqual([b.id, a.id]);
    expect(ids('to:hidden')).toStrictEqual([b.id]);
    expect(ids('-to:hidden')).toStrictEqual([a.id]);
    expect(ids('from:ANN subject:reset')).toStrictEqual([a.id]);
    expect(compileQuery('   ', text)).toBeNull();
  });

  it('refuses impossible dates, unknown has:/is: values and oversize queries', () => {
    expect(() => compileQuery('before:2026-02-30', text)).toThrow(QueryError);
    expect(() => compileQuery('after:26-01-01', text)).toThrow(QueryError);
    expect(() => compileQuery('has:pictures', text)).toThrow('has: knows only "attachment", got "pictures"');
    expect(() => compileQuery('x '.repeat(65), text)).toThrow('query has more than 64 terms');
    expect(() => compileQuery('a'.repeat(5000), text)).toThrow(QueryError);
  });

  it('matches a full address exactly, a part of one as a substring, and header fields', async () => {
    const store = new MessageStore({ maxMessages: 10, maxBytes: 1e6 });
    const add = (raw: string, rcptTo: string[], receivedAt = Date.UTC(2026, 10, 27, 10, 0, 0)) =>
      store.add({ raw: Buffer.from(raw), envelope: { mailFrom: 'app@app.test', rcptTo }, smtp: { helo: null, remoteAddress: null, authUser: null, tls: false }, receivedAt });
    const alice = await add('To: Alice@Example.com\r\nX-Test-Id: abc-1\r\nSubject: a\r\n\r\nx\r\n', ['alice@example.com']);
    const malice = await add('To: malice@example.com\r\nX-Test-Id: abc-2\r\nSubject: b\r\n\r\nx\r\n', ['malice@example.com'], Date.UTC(2026, 10, 27, 12, 0, 0));
    const bcc = await add('To: team@example.com\r\nSubject: c\r\nX-Note: =?UTF-8?Q?caf=C3=A9?=\r\n\r\nx\r\n', ['ALICE@example.com', 'team@example.com'], Date.UTC(2026, 10, 28));
    const ids = (query: string) => store.page(compileQuery(query, text), 0, 10).messages.map((m) => m.id).sort();
    expect(ids('to:alice@example.com')).toStrictEqual([alice.id, bcc.id].sort());
    expect(ids('to:example.com')).toStrictEqual([alice.id, malice.id, bcc.id].sort());
    expect(ids('to:lice@example')).toStrictEqual([alice.id, malice.id, bcc.id].sort());
    expect(ids('header:X-Test-Id=abc-2')).toStrictEqual([malice.id]);
    expect(ids('header:x-test-id=ABC')).toStrictEqual([alice.id, malice.id].sort());
    expect(ids('header:X-Test-Id')).toStrictEqual([alice.id, malice.id].sort());
    expect(ids('header:"X-Note=café"')).toStrictEqual([bcc.id]);
    expect(ids('after:2026-11-27T11:00:00Z')).toStrictEqual([malice.id, bcc.id].sort());
    expect(ids('after:2026-11-27T11:00+01:00')).toStrictEqual([alice.id, malice.id, bcc.id].sort());
    expect(ids('before:2026-11-27T12:00:00.000Z')).toStrictEqual([alice.id]);
    expect(ids('after:2026-11-28')).toStrictEqual([bcc.id]);
    for (const bad of ['after:2026-11-27T10:00', 'before:2026-02-30', 'after:2026-11-27T25:00Z', 'header:=x', 'before:yesterday']) {
      expect(() => compileQuery(bad, text), bad).toThrow(QueryError);
    }
  });

  it('matches words as plain text, case-insensitively, whatever regular expression syntax they hold', async () => {
    const store = new MessageStore({ maxMessages: 10, maxBytes: 1e6 });
    const add = (subject: string) =>
      store.add({ raw: Buffer.from(`Subject: ${subject}\r\n\r\nx\r\n`), envelope: { mailFrom: 'a@app.test', rcptTo: ['b@app.test'] }, smtp: { helo: null, remoteAddress: null, authUser: null, tls: false } });
    const plus = await add('Total: A+B (ÉTÉ)');
    const star = await add('a.*b ab');
    const aqua = await add('xqua Aqua');
    const ids = (query: string) => store.page(compileQuery(query, text), 0, 10).messages.map((m) => m.id).sort();
    expect(ids('subject:a+b')).toStrictEqual([plus.id]);
    expect(ids('subject:été')).toStrictEqual([plus.id]);
    expect(ids('subject:"(été)"')).toStrictEqual([plus.id]);
    expect(ids('subject:.*')).toStrictEqual([star.id]);
    expect(ids('subject:A.*B')).toStrictEqual([star.id]);
    expect(ids('subject:ab')).toStrictEqual([star.id]);
    expect(ids('subject:":"')).toStrictEqual([plus.id]);
    // Searched from the rarest character on, `q`, which occurs first where `a` does not precede it.
    expect(ids('subject:aqua')).toStrictEqual([aqua.id]);
    expect(ids('AQUA')).toStrictEqual([aqua.id]);
    expect(ids('subject:xaqua')).toStrictEqual([]);
  });
});
