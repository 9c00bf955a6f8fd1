import { describe, expect, it } from 'vitest';
import { MailboxIndex } from '../../server/src/store/mailbox-index.js';
import { MessageStore } from '../../server/src/store/message-store.js';

const smtp = { helo: null, remoteAddress: null, authUser: null, tls: false };
const add = (store: MessageStore, ...rcptTo: string[]) =>
  store.add({ raw: Buffer.from('Subject: s\r\n\r\nbody\r\n'), envelope: { mailFrom: 'a@b.c', rcptTo }, smtp });

describe('mailbox index', () => {
  it('counts each lower-cased envelope recipient once per message, sorted by address', async () => {
    const store = new MessageStore({ maxMessages: 100, maxBytes: 1e6 });
    const index = new MailboxIndex(store);
    expect(index.list()).toStrictEqual([]);
    await add(store, 'Bob@Example.com', 'carol@example.com');
    await add(store, 'bob@example.com', 'BOB@EXAMPLE.COM');
    await add(store, 'alice@example.com');
    await add(store);
    await add(store, '');
    expect(index.list()).toStrictEqual([
      { address: 'alice@example.com', total: 1, unread: 1 },
      { address: 'bob@example.com', total: 2, unread: 2 },
      { address: 'carol@example.com', total: 1, unread: 1 },
    ]);
    index.close();
  });

  it('follows read state only when it changes, and forgets deleted and evicted messages', async () => {
    const store = new MessageStore({ maxMessages: 3, maxBytes: 1e6 });
    const index = new MailboxIndex(store);
    const first = await add(store, 'x@example.com', 'y@example.com');
    const second = await add(store, 'y@example.com');
    await store.setRead(first.id, true);
    await store.updateFlags(first.id, ['\\Flagged'], []);
    await store.setRead(first.id, true);
    expect(index.list()).toStrictEqual([
      { address: 'x@example.com', total: 1, unread: 0 },
      { address: 'y@example.com', total: 2, unread: 1 },
    ]);
    await store.setRead(second.id, true);
    await store.setRead(second.id, false);
    await store.delete([second.id, 'unknown']);
    expect(index.list()).toStrictEqual([
      { address: 'x@example.com', total: 1, unread: 0 },
      { address: 'y@example.com', total: 1, unread: 0 },
    ]);
    await add(store, 'z@example.com');
    await add(store, 'z@example.com');
    await add(store, 'z@example.com');
    // The third of these evicts the first message, the only one to x and y.
    expect(index.list()).toStrictEqual([{ address: 'z@example.com', total: 3, unread: 3 }]);
    await store.clear();
    expect(index.list()).toStrictEqual([]);
    await add(store, 'x@example.com');
    expect(index.list()).toStrictEqual([{ address: 'x@example.com', total: 1, unread: 1 }]);
    index.close();
  });

  it('starts from the messages already stored and stops listening when closed', async () => {
    const store = new MessageStore({ maxMessages: 100, maxBytes: 1e6 });
    const read = await add(store, 'a@example.com');
    await store.setRead(read.id, true);
    await add(store, 'A@example.com');
    const index = new MailboxIndex(store);
    expect(index.list()).toStrictEqual([{ address: 'a@example.com', total: 2, unread: 1 }]);
    index.close();
    expect([store.events.listenerCount('new'), store.events.listenerCount('delete')]).toStrictEqual([0, 0]);
    await add(store, 'b@example.com');
    expect(index.list()).toStrictEqual([{ address: 'a@example.com', total: 2, unread: 1 }]);
  });

  it('hands out copies, so callers cannot change the counts', async () => {
    const store = new MessageStore({ maxMessages: 100, maxBytes: 1e6 });
    const index = new MailboxIndex(store);
    await add(store, 'a@example.com');
    index.list()[0]!.total = 99;
    expect(index.list()).toStrictEqual([{ address: 'a@example.com', total: 1, unread: 1 }]);
  });

  it('agrees with a full recount after a random run of adds, reads, deletes, evictions and clears', async () => {
    const store = new MessageStore({ maxMessages: 15, maxBytes: 1e6 });
    const index = new MailboxIndex(store);
    const addresses = ['a@x.test', 'A@X.test', 'b@x.test', 'c@x.test', 'd@x.test'];
    let seed = 7;
    // mulberry32: a fixed seed keeps failures reproducible.
    const random = (n: number): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    for (let step = 0; step < 2000; step++) {
      const action = random(100);
      const stored = store.all();
      if (action < 50) await add(store, ...Array.from({ length: random(4) }, () => addresses[random(addresses.length)]!));
      else if (action < 80 && stored.length > 0) await store.setRead(stored[random(stored.length)]!.id, random(2) === 0);
      else if (action < 99 && stored.length > 0) await store.delete([stored[random(stored.length)]!.id]);
      else await store.clear();
      const expected = new Map<string, { address: string; total: number; unread: number }>();
      for (const message of store.all()) {
        for (const address of new Set(message.envelope.rcptTo.map((a) => a.toLowerCase()))) {
          const tally = expected.get(address) ?? { address, total: 0, unread: 0 };
          tally.total += 1;
          if (!message.flags.has('\\Seen')) tally.unread += 1;
          expected.set(address, tally);
        }
      }
      expect(index.list()).toStrictEqual([...expected.values()].sort((a, b) => (a.address < b.address ? -1 : 1)));
    }
  });
});
