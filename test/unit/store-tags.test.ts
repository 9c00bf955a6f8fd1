import { describe, expect, it } from 'vitest';
import { AUTO_TAG_SOURCES } from '../../server/src/store/auto-tags.js';
import { MessageStore } from '../../server/src/store/message-store.js';
import { cleanTag, isValidTag, tagsOf } from '../../server/src/store/tags.js';
import type { StoredMessage } from '../../server/src/store/types.js';

const smtp = { helo: null, remoteAddress: null, authUser: null, tls: false };
const mail = (headers: string, rcptTo: string[] = ['d@example.test'], flags?: string[]) => ({
  raw: Buffer.from(`${headers}\r\nSubject: s\r\n\r\nbody\r\n`),
  envelope: { mailFrom: 'a@example.test', rcptTo },
  smtp,
  ...(flags ? { flags } : {}),
});
const autoTagged = (maxMessages = 100) => new MessageStore({ maxMessages, maxBytes: 1e6 }, { autoTags: new Set(AUTO_TAG_SOURCES) });

describe('tag names', () => {
  it("cleans as Mailpit's CleanTag does: invalid characters to spaces, spaces collapsed, 100 characters", () => {
    expect(cleanTag('  Hello, wörld!  (again) ')).toBe('Hello w rld again');
    expect(cleanTag('a+b\tc@d.e_f-g')).toBe('a b c@d.e_f-g');
    expect(cleanTag(' ,;+ ')).toBe(null);
    expect(cleanTag('x'.repeat(150))).toBe('x'.repeat(100));
    expect(cleanTag(`${'x'.repeat(99)} y`)).toBe('x'.repeat(99));
  });

  it('accepts what IMAP can show as a keyword with spaces as +, and nothing else', () => {
    for (const good of ['urgent', 'Two words', '$Forwarded', 'a.b@c-d_e', 'ünïcode', 'x'.repeat(128)]) expect([good, isValidTag(good)]).toStrictEqual([good, true]);
    for (const bad of ['', ' lead', 'trail ', 'two  spaces', 'a+b', 'a(b', 'a"b', 'a\\b', 'a]b', 'a%b', 'a*b', 'a{b', 'tab\tx', 'x'.repeat(129)]) {
      expect([bad, isValidTag(bad)]).toStrictEqual([bad, false]);
    }
  });
});

describe('tags in the store', () => {
  it('takes tags from X-Tags and plus-addresses on arrival, X-Tags first, once each ignoring case', async () => {
    const store = autoTagged();
    const message = await store.add(
      mail('X-Tags: Billing, =?UTF-8?Q?caf=C3=A9?= , billing\r\nFrom: app+Sender@example.test\r\nTo: "Bob" <bob+Alpha+beta@example.test>\r\nCc: carol+gamma@example.test', [
        'bob+Alpha+beta@example.test',
        'hidden+Delta@example.test',
      ]),
    );
    expect(tagsOf(message)).toStrictEqual(['Billing', 'caf', 'Alpha', 'beta', 'gamma', 'Delta', 'Sender']);
    expect(store.tags()).toStrictEqual(
      ['Alpha', 'beta', 'Billing', 'caf', 'Delta', 'gamma', 'Sender'].map((name) => ({ name, count: 1 })),
    );
  });

  it('takes none when auto-tagging is off, and keeps flags given on arrival', async () => {
    const store = new MessageStore({ maxMessages: 10, maxBytes: 1e6 });
    const message = await store.add(mail('X-Tags: one\r\nTo: a+two@example.test', ['a+two@example.test'], ['\\Seen', 'Kept']));
    expect([...message.flags]).toStrictEqual(['\\Seen', 'Kept']);
    expect(store.tags()).toStrictEqual([{ name: 'Kept', count: 1 }]);
  });

  it('keeps the first spelling while any message carries the tag, and counts per message', async () => {
    const store = autoTagged();
    const first = await store.add(mail('X-Tags: Invoice'));
    const second = await store.add(mail('X-Tags: INVOICE, invoice'));
    expect(tagsOf(second)).toStrictEqual(['Invoice']);
    expect(store.tags()).toStrictEqual([{ name: 'Invoice', count: 2 }]);
    await store.delete([first.id, second.id]);
    expect(store.tags()).toStrictEqual([]);
    expect(tagsOf(await store.add(mail('X-Tags: INVOICE')))).toStrictEqual(['INVOICE']);
  });

  it('replaces tags, keeping system flags, and reports the flags before each change', async () => {
    const store = autoTagged();
    const message = await store.add(mail('X-Tags: old, keep', undefined, ['\\Flagged']));
    const updates: [string[], string[]][] = [];
    store.events.on('update', (m: StoredMessage, previous) => updates.push([[...previous], [...m.flags]]));
    await store.setTags(message.id, ['KEEP', 'new']);
    await store.setTags(message.id, ['keep', 'New']);
    await store.updateFlags(message.id, ['\\Seen'], []);
    expect(updates).toStrictEqual([
      [
        ['\\Flagged', 'old', 'keep'],
        ['\\Flagged', 'keep', 'new'],
      ],
      [
        ['\\Flagged', 'keep', 'new'],
        ['\\Flagged', 'keep', 'new', '\\Seen'],
      ],
    ]);
    expect(store.tags()).toStrictEqual([
      { name: 'keep', count: 1 },
      { name: 'new', count: 1 },
    ]);
  });

  it('renames and deletes a tag on every message that carries it, a change of case included', async () => {
    const store = autoTagged();
    const a = await store.add(mail('X-Tags: red, blue'));
    const b = await store.add(mail('X-Tags: RED'));
    const c = await store.add(mail('X-Tags: green'));
    expect(await store.renameTag('Red', 'Crimson')).toBe(2);
    expect([a, b, c].map((m) => tagsOf(store.get(m.id)!))).toStrictEqual([['blue', 'Crimson'], ['Crimson'], ['green']]);
    expect(await store.renameTag('crimson', 'CRIMSON')).toBe(2);
    expect(store.tags()).toStrictEqual([
      { name: 'blue', count: 1 },
      { name: 'CRIMSON', count: 2 },
      { name: 'green', count: 1 },
    ]);
    expect(await store.deleteTag('Crimson')).toBe(2);
    expect(await store.deleteTag('nothing')).toBe(0);
    expect([a, b, c].map((m) => tagsOf(store.get(m.id)!))).toStrictEqual([['blue'], [], ['green']]);
    expect(store.hasTag('crimson')).toBe(false);
  });

  it('forgets the tags of evicted and cleared messages', async () => {
    const store = autoTagged(2);
    await store.add(mail('X-Tags: first'));
    await store.add(mail('X-Tags: second'));
    await store.add(mail('X-Tags: third'));
    expect(store.tags().map((t) => t.name)).toStrictEqual(['second', 'third']);
    await store.clear();
    expect(store.tags()).toStrictEqual([]);
  });
});
