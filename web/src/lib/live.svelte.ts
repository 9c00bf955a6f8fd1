import { io, type Socket } from 'socket.io-client';
import type { LiveEvents } from '../../../server/src/api/live.js';
import type { Inbox } from './inbox.svelte.js';

/** The socket.io connection: applies server events to the inbox and re-syncs after every reconnect. */
export class Live {
  connected = $state(false);
  private socket: Socket<LiveEvents> | null = null;

  constructor(
    private readonly inbox: Inbox,
    /** Called after every event and reconnect, for state that is fetched again rather than patched. */
    private readonly onchange: () => void = () => undefined,
  ) {}

  start(): void {
    const socket: Socket<LiveEvents> = io({ transports: ['websocket'] });
    this.socket = socket;
    socket.on('connect', () => {
      this.connected = true;
      // Whatever happened while disconnected is in the list the server gives now.
      void this.inbox.reload();
      this.onchange();
    });
    socket.on('disconnect', () => {
      this.connected = false;
    });
    socket.on('message:new', (summary) => {
      this.inbox.applyNew(summary);
      this.onchange();
    });
    socket.on('message:update', (summary) => {
      this.inbox.applyUpdate(summary);
      this.onchange();
    });
    socket.on('message:delete', ({ ids }) => {
      this.inbox.applyDelete(ids);
      this.onchange();
    });
    socket.on('messages:clear', () => {
      this.inbox.applyClear();
      this.onchange();
    });
  }

  stop(): void {
    this.socket?.close();
  }
}
