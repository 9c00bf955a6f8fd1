import { io, type Socket } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import type { LiveEvents, MessageSummary } from 'mailroom-catcher';
import { api, useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

const mailroom = await useMailroom({ maxMessages: 2 });
const socket: Socket<LiveEvents> = io(mailroom.apiUrl, { transports: ['websocket'] });
await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
afterAll(() => {
  socket.close();
});

function next<E extends keyof LiveEvents>(event: E): Promise<Parameters<LiveEvents[E]>[0]> {
  return new Promise((resolve) => {
    socket.once(event as 'message:new', ((payload: unknown) => resolve(payload as Parameters<LiveEvents[E]>[0])) as never);
  });
}

describe('socket.io live events', () => {
  it('emits message:new with the summary for mail sent over SMTP', async () => {
    const arrival = next('message:new');
    const id = await send(mailroom, { subject: 'live one', to: 'live@example.com' });
    const summary = (await arrival) as MessageSummary;
    const listed = await api<{ messages: MessageSummary[] }>(mailroom, '/api/messages');
    expect(summary).toStrictEqual(listed.body.messages[0]);
    expect(summary.id).toBe(id);
  });

  it('emits message:update when read state changes', async () => {
    const { body } = await api<{ messages: MessageSummary[] }>(mailroom, '/api/messages');
    const update = next('message:update');
    await api(mailroom, `/api/messages/${body.messages[0]!.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"read":true}',
    });
    expect(await update).toMatchObject({ id: body.messages[0]!.id, read: true });
  });

  it('emits message:delete for deletions and evictions, and messages:clear', async () => {
    const first = (await api<{ messages: MessageSummary[] }>(mailroom, '/api/messages')).body.messages[0]!.id;
    await send(mailroom, { subject: 'second' });
    const evicted = next('message:delete');
    await send(mailroom, { subject: 'third evicts the first' });
    expect(await evicted).toStrictEqual({ ids: [first] });

    const { body } = await api<{ messages: MessageSummary[] }>(mailroom, '/api/messages');
    const deleted = next('message:delete');
    await api(mailroom, `/api/messages/${body.messages[0]!.id}`, { method: 'DELETE' });
    expect(await deleted).toStrictEqual({ ids: [body.messages[0]!.id] });

    const cleared = new Promise<string>((resolve) => socket.once('messages:clear', () => resolve('cleared')));
    await api(mailroom, '/api/messages', { method: 'DELETE' });
    expect(await cleared).toBe('cleared');
  });
});
