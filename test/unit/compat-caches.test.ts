import { describe, expect, it } from 'vitest';
import { DerivedCache, stringBytes } from '../../server/src/api/compat/derived-cache.js';
import { goJsonPieces } from '../../server/src/api/compat/mailhog/go-encode.js';
import { mailhogMessage } from '../../server/src/api/compat/mailhog/message.js';
import { MESSAGE_JSON_BYTES, MessageJson, type Json } from '../../server/src/api/compat/mailhog/message-json.js';
import { MailhogSearch, SEARCH_TEXT_BYTES } from '../../server/src/api/compat/mailhog/search.js';
import { MailpitContext } from '../../server/src/api/compat/mailpit/context.js';
import { MailpitFacts } from '../../server/src/api/compat/mailpit/facts.js';
import { compileSearch } from '../../server/src/api/compat/mailpit/search.js';
import { MessageStore } from '../../server/src/store/message-store.js';
import type { StoredMessage } from '../../server/src/store/types.js';

/*
 * What the compat APIs work out per message and keep: kept values must read exactly as values
 * worked out afresh, stay within their budgets and leave with their messages.
 */

function newStore(): { store: MessageStore; add: (raw: string | Buffer, rcptTo?: string[]) => Promise<StoredMessage> } {
  const store = new MessageStore({ maxMessages: 100, maxBytes: 64 * 1024 * 1024 });
  const add = (raw: string | Buffer, rcptTo = ['to@example.com']): Promise<StoredMessage> =>
    store.add({
      raw: typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw,
      envelope: { mailFrom: 'from@example.com', rcptTo },
      smtp: { helo: 'helo.test', remoteAddress: null, authUser: null, tls: false },
      receivedAt: Date.UTC(2024, 4, 1, 10, 0, 0, 120),
    });
  return { store, add };
}

describe('DerivedCache', () => {
  it('works a value out once per message, keeps none past an eighth of its budget, and forgets deleted messages', async () => {
    const { store, add } = newStore();
    const small = await add('Subject: small\r\n\r\nx\r\n');
    const large = await add('Subject: large\r\n\r\nx\r\n');
    const derived: string[] = [];
    const cache = new DerivedCache(
      store,
      8000,
      (message) => {
        derived.push(message.id);
        return message.id;
      },
      (id) => (id === large.id ? 1001 : 1000),
    );
    expect([cache.get(small), cache.get(small), cache.get(large), cache.get(large)]).toStrictEqual([small.id, small.id, large.id, large.id]);
    expect(derived).toStrictEqual([small.id, large.id, large.id]);
    await store.delete([small.id]);
    cache.get(small);
    cache.get(small);
    // Gone with its message, and not kept again for a message the store no longer has.
    expect(derived).toStrictEqual([small.id, large.id, large.id, small.id, small.id]);
    cache.close();
  });

  it('counts a string at one byte per character while all are Latin-1, else two', () => {
    expect([stringBytes(''), stringBytes('abc'), stringBytes('grüße\u00ff'), stringBytes('a\u0100'), stringBytes('😀')]).toStrictEqual([0, 3, 6, 4, 4]);
  });
});

describe("MailHog's message JSON, kept", () => {
  const fresh = (message: StoredMessage): string => [...goJsonPieces(mailhogMessage(message), { indent: false })].join('');
  /** The bytes that go out, one character per byte so that comparing them is quick. */
  const bytes = (json: Json): string => (Buffer.isBuffer(json) ? json : Buffer.concat([...json].map((piece) => Buffer.from(piece)))).toString('latin1');
  const utf8 = (text: string): string => Buffer.from(text).toString('latin1');

  it('reads exactly as the JSON encoded afresh, for mail kept and for mail too large to keep', async () => {
    const { store, add } = newStore();
    const json = new MessageJson(store, MESSAGE_JSON_BYTES);
    const nested = await add(
      'Content-Type: multipart/mixed; boundary=b\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= <&>\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nH\xe4llo \u2028\r\n--b--\r\n',
    );
    const large = await add(`Subject: large\r\n\r\n${'0123456789abcdef\r\n'.repeat((MESSAGE_JSON_BYTES / 16 / 18) | 0)}x\r\n`);
    expect(large.raw.length).toBeGreaterThan(MESSAGE_JSON_BYTES / 16);
    for (const message of [nested, large]) {
      expect(bytes(json.of(message))).toBe(utf8(fresh(message)));
      expect(bytes(json.of(message))).toBe(utf8(fresh(message)));
    }
    expect(Buffer.isBuffer(json.of(nested))).toBe(true);
    expect(Buffer.isBuffer(json.of(large))).toBe(false);
    // A listing too large to hold at once goes out in a few large pieces, not one per message or per token.
    const streamed = json.list('{"items":[', [nested, large, nested], ']}');
    expect(Buffer.isBuffer(streamed)).toBe(false);
    const pieces = [...(streamed as Iterable<Buffer>)];
    expect(bytes(pieces)).toBe(utf8(`{"items":[${fresh(nested)},${fresh(large)},${fresh(nested)}]}`));
    expect(pieces.length).toBeLessThan(large.raw.length / (128 * 1024));
    const page = json.list('[', [nested, nested], ']');
    expect(Buffer.isBuffer(page) && bytes(page)).toBe(utf8(`[${fresh(nested)},${fresh(nested)}]`));
    expect([json.list('[', [], ']')]).toStrictEqual([Buffer.from('[]')]);
    json.close();
  });
});

describe("MailHog's search, over texts kept per message", () => {
  it('finds a needle inside one string only, never across the body and a header or two headers', async () => {
    const { store, add } = newStore();
    const search = new MailhogSearch(store, SEARCH_TEXT_BYTES);
    const message = await add('From: alpha\r\nTo: beta\r\nX-Empty: \r\n\r\nBODY\0END\r\n', ['one@example.com', 'two@example.com']);
    const hits = (kind: 'from' | 'to' | 'containing', query: string): boolean => search.filter(kind, query)(message);
    expect([hits('containing', 'body\0end'), hits('containing', 'BODY\0E'), hits('containing', '\0')]).toStrictEqual([true, true, true]);
    // The strings are kept joined by that same character: a needle holding it must not match across two of them.
    expect([hits('containing', 'end\0alpha'), hits('containing', 'alpha\0beta'), hits('containing', 'beta\0\0')]).toStrictEqual([false, false, false]);
    expect([hits('to', 'one@example.com\0two'), hits('to', 'two@example.com\0beta'), hits('to', 'beta'), hits('from', 'from@example.com\0alpha')]).toStrictEqual([
      false,
      false,
      true,
      false,
    ]);
    expect([hits('from', 'FROM@'), hits('from', 'ALPHA'), hits('to', 'TWO@')]).toStrictEqual([true, true, true]);
    search.close();
  });
});

describe("Mailpit's subject search, without the facts", () => {
  it('lowers ASCII letters only, as SQLite LIKE compares', async () => {
    const { store, add } = newStore();
    const facts = new MailpitFacts(store, { factsBytes: 1e6, textBytes: 1e6 });
    const context = new MailpitContext(store, facts);
    const ascii = await add('Subject: Your ORDER has Shipped\r\n\r\nx\r\n');
    const accented = await add('Subject: =?UTF-8?Q?=C3=89MILE_Order?=\r\n\r\nx\r\n');
    // The Kelvin sign and dotted capital I lower to ASCII letters under toLowerCase, not under LIKE.
    const kelvin = await add('Subject: =?UTF-8?Q?Kelvin_=E2=84=AA_=C4=B0?=\r\n\r\nx\r\n');
    const ids = (query: string): string[] =>
      store
        .page(compileSearch(query, context.source, null), 0, 10)
        .messages.map((m) => m.id)
        .sort();
    expect(ids('subject:order')).toStrictEqual([ascii.id, accented.id].sort());
    expect([ids('subject:"your order has"'), ids('subject:ÉMILE'), ids('subject:Émile'), ids('subject:émile')]).toStrictEqual([[ascii.id], [accented.id], [accented.id], []]);
    expect([ids('-subject:ORDER'), ids('subject:o_der'), ids('subject:émile%')]).toStrictEqual([[kelvin.id], [ascii.id, accented.id].sort(), []]);
    expect([ids('subject:KELVIN'), ids('subject:"kelvin k"'), ids('subject:"k i"'), ids('subject:\u212a'), ids('-subject:"kelvin k"').length]).toStrictEqual([
      [kelvin.id],
      [],
      [],
      [kelvin.id],
      3,
    ]);
    facts.close();
  });
});
