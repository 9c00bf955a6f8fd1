import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import type { Access } from './access.js';
import { SECURITY_HEADERS } from './security-headers.js';
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

/**
 * Relays store events to every connected socket.io client. Connections pass
 * the API's checks (host, origin, credentials) at the handshake and at every
 * polling request; JSONP polling, which would let any page read the events
 * through a `<script>` tag, is refused.
 */
export function attachLive(httpServer: HttpServer, store: MessageStore, access: Access, corsOrigins: readonly string[] = []): Server<Record<string, never>, LiveEvents> {
  const io = new Server<Record<string, never>, LiveEvents>(httpServer, {
    serveClient: false,
    ...(corsOrigins.length > 0 ? { cors: { origin: corsOrigins.includes('*') ? '*' : [...corsOrigins] } } : {}),
    allowRequest: (request, callback) => {
      const url = new URL(request.url ?? '/', 'http://mailroom');
      if (url.searchParams.has('j')) return callback('JSONP polling is not supported', false);
      access.check({ headers: request.headers, path: url.pathname, remoteAddress: request.socket.remoteAddress }).then(
        (denial) => callback(denial?.message ?? null, denial === null),
        () => callback('Access check failed', false),
      );
    },
  });
  const secure = (headers: Record<string, string>): void => void Object.assign(headers, SECURITY_HEADERS);
  io.engine.on('initial_headers', secure);
  io.engine.on('headers', secure);
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
