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
    expect(none.body).toStrictEqual({ error: 'timeout', message: 'No matching message arrived within 0.3 s' });
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
});
