import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WebSocket } from 'ws';
import { MAX_UNSENT_BYTES, PING_INTERVAL_MS, SocketHub } from '../../server/src/api/compat/ws-hub.js';

/** What SocketHub uses of a ws WebSocket, recording what it is asked to do. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly calls: string[] = [];

  send(frame: Buffer): void {
    this.calls.push(`send ${frame.toString()}`);
  }

  ping(): void {
    this.calls.push('ping');
  }

  close(code: number, reason: string): void {
    this.calls.push(`close ${code} ${reason}`);
    this.readyState = 2;
  }

  terminate(): void {
    this.calls.push('terminate');
    this.readyState = 3;
    this.emit('close');
  }
}

const logger = { warn: () => undefined } as unknown as FastifyBaseLogger;
const socketOf = (fake: FakeSocket): WebSocket => fake as unknown as WebSocket;

afterEach(() => {
  vi.useRealTimers();
});

describe('SocketHub', () => {
  it('pings every 54 s and cuts a client that has not answered the previous ping', () => {
    vi.useFakeTimers();
    const hub = new SocketHub('test', logger);
    const answers = new FakeSocket();
    const silent = new FakeSocket();
    hub.add(socketOf(answers));
    hub.add(socketOf(silent));

    vi.advanceTimersByTime(PING_INTERVAL_MS - 1);
    expect([answers.calls, silent.calls]).toStrictEqual([[], []]);
    vi.advanceTimersByTime(1);
    expect([answers.calls, silent.calls]).toStrictEqual([['ping'], ['ping']]);

    answers.emit('pong');
    vi.advanceTimersByTime(PING_INTERVAL_MS);
    expect([answers.calls, silent.calls]).toStrictEqual([
      ['ping', 'ping'],
      ['ping', 'terminate'],
    ]);
    expect(hub.size).toBe(1);
    hub.close();
  });

  it('stops pinging when the last client leaves', () => {
    vi.useFakeTimers();
    const hub = new SocketHub('test', logger);
    const client = new FakeSocket();
    hub.add(socketOf(client));
    client.emit('close');
    expect(hub.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('sends to clients within the bound and closes, with 1008, one past it', () => {
    const hub = new SocketHub('test', logger);
    const reading = new FakeSocket();
    const stalled = new FakeSocket();
    hub.add(socketOf(reading));
    hub.add(socketOf(stalled));
    stalled.bufferedAmount = MAX_UNSENT_BYTES;
    hub.broadcast(Buffer.from('one'));
    stalled.bufferedAmount = MAX_UNSENT_BYTES + 1;
    hub.broadcast(Buffer.from('two'));
    hub.broadcast(Buffer.from('three'));
    expect(reading.calls).toStrictEqual(['send one', 'send two', 'send three']);
    expect(stalled.calls).toStrictEqual(['send one', 'close 1008 Client too slow: too many events unsent']);
    expect(hub.size).toBe(1);
    hub.close();
  });
});
