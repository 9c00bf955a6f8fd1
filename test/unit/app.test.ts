import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../server/src/api/app.js';
import { MessageViews } from '../../server/src/api/message-view.js';
import { SmtpRuleSet } from '../../server/src/smtp/reject-rules.js';
import { MessageStore } from '../../server/src/store/message-store.js';

const smtp = { helo: null, remoteAddress: null, authUser: null, tls: false };

describe('HTTP app without listening', () => {
  it('answers health with 503 naming the listeners that are not up yet', async () => {
    const store = new MessageStore({ maxMessages: 10, maxBytes: 1e6 });
    let smtpUp = false;
    const app = await buildApp({
      store,
      logger: pino({ level: 'silent' }),
      version: 'test',
      listeners: () => [
        { name: 'smtp', port: 2525, listening: smtpUp },
        { name: 'http', port: 8080, listening: true },
      ],
      smtpRules: new SmtpRuleSet(),
    });
    const down = await app.inject('/api/health');
    expect([down.statusCode, down.json()]).toStrictEqual([503, { error: 'unavailable', message: 'Not listening yet: smtp' }]);
    smtpUp = true;
    const up = await app.inject('/api/health');
    expect([up.statusCode, up.json()]).toStrictEqual([200, { status: 'ok' }]);
    await app.close();
  });
});

describe('message views', () => {
  it('keeps parsed views within the memory budget, dropping the least recently used', async () => {
    const store = new MessageStore({ maxMessages: 10, maxBytes: 1e6 });
    const add = (text: string) =>
      store.add({ raw: Buffer.from(`Subject: s\r\n\r\n${text}\r\n`), envelope: { mailFrom: '', rcptTo: [] }, smtp });
    const [a, b, c] = [await add('a'.repeat(1000)), await add('b'.repeat(1000)), await add('c'.repeat(1000))];
    const views = new MessageViews(store, 5000);
    const cache = (views as unknown as { cache: Map<string, unknown> }).cache;
    await views.detail(a);
    await views.detail(b);
    expect([...cache.keys()]).toStrictEqual([a.id, b.id]);
    await views.detail(a);
    await views.detail(c);
    expect([...cache.keys()]).toStrictEqual([a.id, c.id]);
    expect((await views.detail(b)).text).toBe(`${'b'.repeat(1000)}\n`);
    await store.delete([b.id]);
    expect(cache.has(b.id)).toBe(false);
  });
});
