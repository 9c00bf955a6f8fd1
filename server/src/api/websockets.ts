import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import { answerWithoutUpgrade } from './raw-errors.js';

/** Largest frame a client may send; no WebSocket route reads what clients send. */
const MAX_CLIENT_FRAME_BYTES = 4096;
/** socket.io's default path (live.ts), whose engine takes the upgrades under it from the same server. */
const SOCKET_IO_PATH = '/socket.io/';

/**
 * WebSocket routes (`wsHandler`) for the app. A handshake goes through
 * Fastify's routing and hooks like any request, so the access check refuses
 * a hostile page's Origin, an unknown Host or missing credentials with the
 * same answer before anything is upgraded. socket.io listens for upgrades on
 * the same server, so its own are kept from Fastify, which would otherwise
 * answer them too.
 */
export async function registerWebSockets(app: FastifyInstance): Promise<void> {
  const upgrades = new EventEmitter();
  const forward = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if ((request.url ?? '').startsWith(SOCKET_IO_PATH)) return;
    if (request.headers.upgrade?.toLowerCase() === 'websocket') upgrades.emit('upgrade', request, socket, head);
    else answerWithoutUpgrade(app.server, request, socket as Socket);
  };
  app.server.on('upgrade', forward);
  app.addHook('onClose', async () => void app.server.off('upgrade', forward));
  // The plugin only listens for 'upgrade' on what it is given as `server`.
  await app.register(fastifyWebsocket, { options: { server: upgrades as unknown as Server, maxPayload: MAX_CLIENT_FRAME_BYTES } });
}
