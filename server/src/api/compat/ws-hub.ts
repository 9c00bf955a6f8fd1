import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import type { WebSocket } from 'ws';

/**
 * Unsent bytes a client may have queued before it is closed. A client that
 * stops reading would otherwise hold every event sent after it stopped; one
 * that keeps up never comes near this, since the check comes before each
 * frame and a frame larger than this (a big MailHog message) still goes out
 * whole. Mailpit and MailHog drop such a client once 256 frames wait for it.
 */
export const MAX_UNSENT_BYTES = 8 * 1024 * 1024;

/** Mailpit and MailHog ping every 54 s (nine tenths of gorilla's 60 s pong wait). */
export const PING_INTERVAL_MS = 54_000;

/** RFC 6455 §7.4.1: 1008, the client broke a rule of the server's (here: read what it is sent). */
export const CLOSE_TOO_SLOW = 1008;
export const CLOSE_TOO_SLOW_REASON = 'Client too slow: too many events unsent';

/** How long a client has to answer the close frame at shutdown; ws would wait 30 s, holding the server's close. */
const SHUTDOWN_GRACE_MS = 1000;

/**
 * The clients of one event stream. Frames are encoded once and shared; every
 * client gets them in order, or is closed when it falls too far behind.
 * Neither original reads what a client sends, so nothing here does either.
 */
export class SocketHub {
  private readonly clients = new Set<WebSocket>();
  /** Clients pinged and not heard from since: still there at the next ping, their peer is gone. */
  private readonly unanswered = new Set<WebSocket>();
  private pinger: NodeJS.Timeout | null = null;

  constructor(
    private readonly name: string,
    private readonly logger: FastifyBaseLogger,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  add(socket: WebSocket): void {
    this.clients.add(socket);
    socket.on('pong', () => this.unanswered.delete(socket));
    socket.once('close', () => this.forget(socket));
    this.pinger ??= setInterval(() => this.ping(), PING_INTERVAL_MS).unref();
  }

  /** A text frame to every client. */
  broadcast(frame: Buffer): void {
    for (const socket of this.clients) {
      if (socket.readyState !== socket.OPEN) continue;
      if (socket.bufferedAmount > MAX_UNSENT_BYTES) {
        this.logger.warn({ unsent: socket.bufferedAmount }, `${this.name}: closed a client that stopped reading`);
        this.forget(socket);
        // The close frame waits behind what is unsent; ws cuts the connection if no answer comes.
        socket.close(CLOSE_TOO_SLOW, CLOSE_TOO_SLOW_REASON);
        continue;
      }
      socket.send(frame, { binary: false });
    }
  }

  /** Says goodbye to every client (1001, going away), cuts those that do not answer, and stops pinging. */
  close(): void {
    for (const socket of this.clients) {
      socket.close(1001, 'Server shutting down');
      setTimeout(() => socket.terminate(), SHUTDOWN_GRACE_MS).unref();
    }
    this.clients.clear();
    this.unanswered.clear();
    this.stopPinging();
  }

  private ping(): void {
    for (const socket of this.clients) {
      if (this.unanswered.has(socket)) {
        this.forget(socket);
        socket.terminate();
        continue;
      }
      this.unanswered.add(socket);
      socket.ping();
    }
  }

  private forget(socket: WebSocket): void {
    this.clients.delete(socket);
    this.unanswered.delete(socket);
    if (this.clients.size === 0) this.stopPinging();
  }

  private stopPinging(): void {
    if (this.pinger !== null) clearInterval(this.pinger);
    this.pinger = null;
  }
}

/**
 * What gorilla's Upgrader answers a request that is not a WebSocket handshake
 * (Mailpit's and MailHog's alike): 400 with Go's http.Error text.
 */
export function notWebSocket(reply: FastifyReply): FastifyReply {
  return reply.code(400).header('sec-websocket-version', '13').type('text/plain; charset=utf-8').send(Buffer.from('Bad Request\n'));
}
