import { describe, expect, it } from 'vitest';
import { MessageStore } from '../../server/src/store/message-store.js';
import { StoreCapacityError } from '../../server/src/store/store.js';
import type { StoredMessage } from '../../server/src/store/types.js';
import { cpuTimeAsync } from '../helpers/cpu-time.js';

const smtp = { helo: null, remoteAddress: null, authUser: null, tls: false };
const incoming = (subject: string, size = 0) => ({
  raw: Buffer.from(`Subject: ${subject}\r\n\r\n${'x'.repeat(size)}\r\n`),
  envelope: { mailFrom: 'a@b.c', rcptTo: ['d@e.f'] },
  smtp,
});

describe('message store', () => {
  it('gives strictly increasing uids and unique ids, and lists newest first', async () => {
    const store = new MessageStore({ maxMessages: 100, maxBytes: 1e6 });
    const added: StoredMessage[] = [];
    for (const s of ['one', 'two', 'three']) added.push(await store.add(incoming(s)));
    expect(added.map((m) => m.uid)).toStrictEqual([1, 2, 3]);
    expect(new Set(added.map((m) => m.id)).size).toBe(3);
    expect(added.every((m) => /^[A-Za-z0-9_-]{16}$/.test(m.id))).toBe(true);
    expect(store.page(null, 0, 2).messages.map((m) => m.digest.subject)).toStrictEqual(['three', 'two']);
    expect(store.since(1, null).map((m) => m.digest.subject)).toStrictEqual(['two', 'three']);
  });

  it('emits events in order: evictions before the new message', async () => {
    const store = new MessageStore({ maxMessages: 2, maxBytes: 1e6 });
    const log: string[] = [];
    store.events.on('new', (m) => log.push(`new ${m.digest.subject}`));
    store.events.on('delete', (ids) => log.push(`delete ${ids.length}`));
    store.events.on('update', (m) => log.push(`update ${m.digest.subject}`));
    store.events.on('clear', () => log.push('clear'));
    const first = await store.add(incoming('a'));
    await store.add(incoming('b'));
    await store.add(incoming('c'));
    await store.setRead(first.id, true);
    const [, c] = store.all();
    await store.setRead(c!.id, true);
    await store.setRead(c!.id, true);
    await store.clear();
    expect(log).toStrictEqual(['new a', 'new b', 'delete 1', 'new c', 'update c', 'clear']);
  });

  it('counts unread and bytes through reads, deletes and evictions', async () => {
    const store = new MessageStore({ maxMessages: 3, maxBytes: 1e6 });
    const [a, b] = [await store.add(incoming('a')), await store.add(incoming('b'))];
    await store.setRead(a.id, true);
    expect([store.size, store.unread]).toStrictEqual([2, 1]);
    expect((await store.delete([a.id, 'missing', a.id])).map((m) => m.id)).toStrictEqual([a.id]);
    expect([store.size, store.unread, store.bytes]).toStrictEqual([1, 1, b.raw.length]);
  });

  it('evicts by bytes and refuses a message larger than the store', async () => {
    const store = new MessageStore({ maxMessages: 100, maxBytes: 3000 });
    for (let i = 0; i < 5; i++) await store.add(incoming(`m${i}`, 900));
    expect(store.all().map((m) => m.digest.subject)).toStrictEqual(['m2', 'm3', 'm4']);
    await expect(store.add(incoming('huge', 4000))).rejects.toThrow(StoreCapacityError);
    expect(store.size).toBe(3);
  });

  it('stays linear: 50,000 messages with steady eviction and interleaved deletes', async () => {
    const store = new MessageStore({ maxMessages: 10_000, maxBytes: 1e9 });
    const raw = Buffer.from('Subject: s\r\n\r\nbody\r\n');
    let kept: StoredMessage | undefined;
    const { ms } = await cpuTimeAsync(async () => {
      for (let i = 0; i < 50_000; i++) {
        const message = await store.add({ raw, envelope: { mailFrom: '', rcptTo: [] }, smtp });
        if (i % 3 === 0) await store.delete([message.id]);
        else kept = message;
        if (i % 1000 === 0) store.page(null, 5000, 50);
      }
    });
    expect(store.size).toBe(10_000);
    expect(store.page(null, 0, 1).messages[0]).toBe(kept);
    expect(ms).toBeLessThan(5000);
  });
});
