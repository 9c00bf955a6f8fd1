import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import type { Access } from './access.js';
import { SECURITY_HEADERS } from './security-headers.js';
import type { Store } from '../store/store.js';
import type { StoredMessage } from '../store/types.js';
import type { MessageSummary } from './schemas.js';
import { toSummary } from './serialize.js';

/** Events a client may have waiting to be sent, about 0.5 MB of summaries. */
const MAX_QUEUED_EVENTS = 1000;

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
export function attachLive(httpServer: HttpServer, store: Store, access: Access, corsOrigins: readonly string[] = []): Server<Record<string, never>, LiveEvents> {
  const io = new Server<Record<string, never>, LiveEvents>(httpServer, {
    serveClient: false,
    // engine.io would end any other upgrade left unanswered for a second; Fastify answers those
    // (the WebSocket routes, or 404), after an access check the login throttle may hold longer.
    destroyUpgrade: false,
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
  /**
   * Events wait in a client's engine.io buffer while its connection cannot
   * take more, so a client that stops reading would hold every event from
   * then on. Past the bound it is disconnected; the web app catches up from
   * the API when it reconnects.
   */
  const dropStalled = (): void => {
    for (const socket of io.of('/').sockets.values()) {
      // engine.io keeps its queue private in its types; the test of a client that never reads guards this.
      if ((socket.conn as unknown as { writeBuffer: readonly unknown[] }).writeBuffer.length > MAX_QUEUED_EVENTS) socket.conn.close();
    }
  };
  const emit = <E extends keyof LiveEvents>(event: E, ...args: Parameters<LiveEvents[E]>): void => {
    if (!listening()) return;
    io.emit(event, ...args);
    dropStalled();
  };
  const onNew = (message: StoredMessage): void => {
    if (listening()) emit('message:new', toSummary(message));
  };
  const onUpdate = (message: StoredMessage): void => {
    if (listening()) emit('message:update', toSummary(message));
  };
  const onDelete = (messages: StoredMessage[]): void => {
    emit('message:delete', { ids: messages.map((m) => m.id) });
  };
  const onClear = (): void => {
    emit('messages:clear');
  };
  store.events.on('new', onNew).on('update', onUpdate).on('delete', onDelete).on('clear', onClear);
  httpServer.once('close', () => {
    store.events.off('new', onNew).off('update', onUpdate).off('delete', onDelete).off('clear', onClear);
  });
  return io;
}
