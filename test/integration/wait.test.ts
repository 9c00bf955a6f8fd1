import { describe, expect, it } from 'vitest';
import { api, useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

const mailroom = await useMailroom();

describe('GET /api/messages/wait', () => {
  it('answers with a message sent after the call started', async () => {
    const waiting = api<{ id: string; subject: string; text: string }>(mailroom, '/api/messages/wait?query=to:waiter@example.com&timeout=10');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await send(mailroom, { to: 'someone-else@example.com', subject: 'not this one' });
    const id = await send(mailroom, { to: 'waiter@example.com', subject: 'this one', text: 'code 4242' });
    const response = await waiting;
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id, subject: 'this one', text: 'code 4242\n' });
  });

  it('does not answer with a message that was already there, unless it came after `since`', async () => {
    const old = await send(mailroom, { to: 'since@example.com', subject: 'old' });
    const newer = await send(mailroom, { to: 'since@example.com', subject: 'newer' });
    const none = await api<{ error: string; message: string }>(mailroom, '/api/messages/wait?query=to:since@example.com&timeout=0.3');
    expect(none.status).toBe(408);
    expect(none.body).toStrictEqual({ error: 'timeout', message: 'No matching message arrived within 0.3 s; nothing arrived', arrived: [] });
    const found = await api<{ id: string }>(mailroom, `/api/messages/wait?query=to:since@example.com&since=${old}&timeout=1`);
    expect(found.body.id).toBe(newer);
    const started = Date.now();
    const waiting = api<{ id: string }>(mailroom, `/api/messages/wait?query=to:since@example.com&since=${newer}&timeout=5`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const latest = await send(mailroom, { to: 'since@example.com', subject: 'latest' });
    expect((await waiting).body.id).toBe(latest);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('times out with 408 and JSON after the timeout', async () => {
    const started = Date.now();
    const response = await api<{ error: string }>(mailroom, '/api/messages/wait?query=subject:never&timeout=0.5');
    expect(response.status).toBe(408);
    expect(response.body.error).toBe('timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
  });

  it('rejects bad parameters', async () => {
    expect((await api(mailroom, '/api/messages/wait?timeout=301')).status).toBe(400);
    expect((await api(mailroom, '/api/messages/wait?timeout=soon')).status).toBe(400);
    expect((await api(mailroom, '/api/messages/wait?since=unknown-id&timeout=1')).status).toBe(404);
    expect((await api(mailroom, '/api/messages/wait?query=after:2026-13-45')).status).toBe(400);
  });

  it('stops waiting when the client goes away', async () => {
    const controller = new AbortController();
    const waiting = fetch(`${mailroom.apiUrl}/api/messages/wait?timeout=60`, { signal: controller.signal }).catch(() => 'aborted');
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    expect(await waiting).toBe('aborted');
    await send(mailroom, { subject: 'after the abort' });
    const info = await api<{ messages: number }>(mailroom, '/api/info');
    expect(info.status).toBe(200);
  });

  it('counts from a cursor: after=<id>, after=0, and count=N with messages sent before, during and after the call', async () => {
    const inbox = 'count@example.test';
    const before = await send(mailroom, { to: inbox, subject: 'c1' });
    const all = await api<{ messages: { id: string }[] }>(mailroom, `/api/messages/wait?query=to:${inbox}&after=0&count=1&timeout=1`);
    expect(all.body.messages.map((m) => m.id)).toStrictEqual([before]);
    const waiting = api<{ messages: { id: string; subject: string }[] }>(mailroom, `/api/messages/wait?query=to:${inbox}&after=${before}&count=3&timeout=10`);
    const during = [await send(mailroom, { to: inbox, subject: 'c2' }), await send(mailroom, { to: 'other@example.test', subject: 'noise' })];
    const later = [await send(mailroom, { to: inbox, subject: 'c3' }), await send(mailroom, { to: inbox, subject: 'c4' }), await send(mailroom, { to: inbox, subject: 'c5' })];
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(answer.body.messages.map((m) => m.subject)).toStrictEqual(['c2', 'c3', 'c4']);
    expect(answer.body.messages.map((m) => m.id)).toStrictEqual([during[0], later[0], later[1]]);
  });

  it('answers quiet=S once S seconds pass without a match, listing what matched', async () => {
    const inbox = 'quiet@example.test';
    const started = Date.now();
    const silent = await api<{ messages: unknown[] }>(mailroom, `/api/messages/wait?query=to:${inbox}&quiet=0.3&timeout=5`);
    expect(silent.status).toBe(200);
    expect(silent.body).toStrictEqual({ messages: [] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const waiting = api<{ messages: { subject: string }[] }>(mailroom, `/api/messages/wait?query=to:${inbox}&quiet=0.4&timeout=5`);
    await send(mailroom, { to: inbox, subject: 'q1' });
    await send(mailroom, { to: inbox, subject: 'q2' });
    expect((await waiting).body.messages.map((m) => m.subject)).toStrictEqual(['q1', 'q2']);
    // Never quiet within the timeout: 408.
    const busy = api<{ error: string }>(mailroom, `/api/messages/wait?query=to:${inbox}&quiet=0.5&timeout=0.6`);
    for (let i = 0; i < 4; i++) {
      await send(mailroom, { to: inbox, subject: `busy${i}` });
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    expect((await busy).status).toBe(408);
  });

  it('lists what did arrive when a wait times out', async () => {
    const cursor = await send(mailroom, { to: 'cursor@example.test', subject: 'cursor' });
    await send(mailroom, { to: 'wrong@example.test', subject: 'sent to the wrong place' });
    const response = await api<{ error: string; message: string; arrived: { subject: string; to: { address: string }[] }[] }>(
      mailroom,
      `/api/messages/wait?query=to:right@example.test&after=${cursor}&timeout=0.2`,
    );
    expect(response.status).toBe(408);
    expect(response.body.message).toBe('No matching message arrived within 0.2 s; newest arrivals in "arrived"');
    expect(response.body.arrived.map((m) => [m.subject, m.to.map((a) => a.address)])).toStrictEqual([['sent to the wrong place', ['wrong@example.test']]]);
  });

  it('keeps 8 parallel waiters on their own inboxes', async () => {
    const inboxes = Array.from({ length: 8 }, (_, i) => `parallel-${i}@example.test`);
    const waits = inboxes.map((inbox) => api<{ messages: { to: { address: string }[]; subject: string }[] }>(mailroom, `/api/messages/wait?query=to:${inbox}&count=2&timeout=10`));
    await Promise.all(inboxes.map(async (inbox, i) => {
      await send(mailroom, { to: inbox, subject: `first ${i}` });
      await send(mailroom, { to: inbox, subject: `second ${i}` });
    }));
    const answers = await Promise.all(waits);
    answers.forEach((answer, i) => {
      expect(answer.body.messages.map((m) => [m.to[0]!.address, m.subject])).toStrictEqual([[inboxes[i], `first ${i}`], [inboxes[i], `second ${i}`]]);
    });
  });

  it('refuses count with quiet, and an unknown cursor', async () => {
    expect((await api<{ error: string }>(mailroom, '/api/messages/wait?count=2&quiet=1')).body.error).toBe('bad_request');
    expect((await api<{ message: string }>(mailroom, '/api/messages/wait?after=nope&timeout=1')).body.message).toBe('after: no message with id nope');
  });
});
