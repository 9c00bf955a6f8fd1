import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import type { MessageStore } from '../store/message-store.js';
import type { StoredMessage } from '../store/types.js';
import type { MessageSummary } from './schemas.js';
import { toSummary } from './serialize.js';

/** The socket.io events Mailroom emits; the web app imports this map too. */
export interface LiveEvents {
  'message:new': (summary: MessageSummary) => void;
  'message:update': (summary: MessageSummary) => void;
  'message:delete': (payload: { ids: string[] }) => void;
  'messages:clear': () => void;
}

/** Relays store events to every connected socket.io client. */
export function attachLive(httpServer: HttpServer, store: MessageStore): Server<Record<string, never>, LiveEvents> {
  const io = new Server<Record<string, never>, LiveEvents>(httpServer, { serveClient: false });
  // Summaries are built only when someone listens: ingest stays cheap with no browser open.
  const listening = (): boolean => io.engine.clientsCount > 0;
  const onNew = (message: StoredMessage): void => {
    if (listening()) io.emit('message:new', toSummary(message));
  };
  const onUpdate = (message: StoredMessage): void => {
    if (listening()) io.emit('message:update', toSummary(message));
  };
  const onDelete = (messages: StoredMessage[]): void => {
    io.emit('message:delete', { ids: messages.map((m) => m.id) });
  };
  const onClear = (): void => {
    io.emit('messages:clear');
  };
  store.events.on('new', onNew).on('update', onUpdate).on('delete', onDelete).on('clear', onClear);
  httpServer.once('close', () => {
    store.events.off('new', onNew).off('update', onUpdate).off('delete', onDelete).off('clear', onClear);
  });
  return io;
}
