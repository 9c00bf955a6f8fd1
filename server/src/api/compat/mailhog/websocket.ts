import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
import type { WebSocket } from 'ws';
import type { Store } from '../../../store/store.js';
import type { StoredMessage } from '../../../store/types.js';
import { notWebSocket, SocketHub } from '../ws-hub.js';
import type { MessageJson } from './message-json.js';

/** gorilla's WriteJSON ends each frame as json.Encoder does. */
const NEWLINE = Buffer.from('\n');

/**
 * MailHog's GET /api/v2/websocket (MailHog-Server websockets/): one text
 * frame per new message, the message's JSON as GET /api/v1/messages/{id}
 * gives it, followed by the newline of gorilla's WriteJSON (a json.Encoder).
 * Nothing else is ever sent but pings.
 */
export class MailhogWebSocket {
  private readonly hub: SocketHub;

  private readonly onNew = (message: StoredMessage): void => {
    if (this.hub.size === 0) return;
    let json: Buffer;
    try {
      // The JSON GET /api/v1/messages/{id} answers with, kept for the listings that follow.
      const encoded = this.json.of(message);
      json = Buffer.concat([...(Buffer.isBuffer(encoded) ? [encoded] : [...encoded].map((piece) => Buffer.from(piece))), NEWLINE]);
    } catch (error) {
      // A message whose JSON outgrows V8's largest string; the clients miss this one frame.
      this.logger.warn({ err: error, id: message.id }, 'MailHog websocket: could not encode message');
      return;
    }
    this.hub.broadcast(json);
  };

  /** Encoding (the whole message, several times over) waits for the next turn, so that SMTP's 250 is not held up by it. */
  private readonly onStored = (message: StoredMessage): void => {
    if (this.hub.size > 0) setImmediate(this.onNew, message);
  };

  constructor(
    private readonly store: Store,
    private readonly json: MessageJson,
    private readonly logger: FastifyBaseLogger,
  ) {
    this.hub = new SocketHub('MailHog websocket', logger);
    store.events.on('new', this.onStored);
  }

  add(socket: WebSocket): void {
    this.hub.add(socket);
  }

  close(): void {
    this.store.events.off('new', this.onStored);
    this.hub.close();
  }
}

export interface WebSocketRoutesDeps {
  store: Store;
  json: MessageJson;
}

export const webSocketRoutes: FastifyPluginAsync<WebSocketRoutesDeps> = async (app, { store, json }) => {
  const socket = new MailhogWebSocket(store, json, app.log);
  app.addHook('preClose', async () => socket.close());
  app.route({
    method: 'GET',
    url: '/api/v2/websocket',
    // MailHog's router answers only GET here; HEAD, like any other method, is a 404.
    exposeHeadRoute: false,
    schema: {
      tags: ['mailhog'],
      summary: 'MailHog: new messages over a WebSocket',
      description: 'One text frame per new message: its JSON, as `GET /api/v1/messages/{id}` gives it, and a newline. A request that is not a WebSocket handshake gets 400 `Bad Request`.',
    },
    handler: (_request, reply) => notWebSocket(reply),
    wsHandler: (client) => socket.add(client),
  });
};
