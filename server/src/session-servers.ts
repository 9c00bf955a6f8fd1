import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { ConnectionLimits, refusalText, type ConnectionCaps } from './guard/connection-limits.js';
import type { TlsMaterial } from './tls.js';

export interface SessionServers {
  plain: Server;
  /** Implicit TLS from the first byte, when asked for and TLS is configured. */
  secure: Server | null;
  /** Stops listening and ends every session of both listeners. */
  close(): Promise<void>;
}

export interface SessionServerOptions {
  /** For the log: `POP3`, `IMAP`. */
  protocol: string;
  logger: Logger;
  tls: TlsMaterial | null;
  implicitTls: boolean;
  /** Connections both listeners hold open at most, in all and per client address. */
  caps: ConnectionCaps;
  /** The protocol's line refusing a connection when the listener is full, given the reason. */
  refuse(text: string): string;
  /** Starts the protocol session on a new connection. */
  open(socket: Socket, secure: boolean): void;
}

/**
 * The listeners of a line protocol (POP2, POP3, IMAP): plain, and implicit TLS
 * when asked for, sharing one set of open connections so that close() ends
 * them all instead of waiting for clients to leave, and one count of them, so
 * that a flood is refused with the protocol's own error.
 */
export function createSessionServers(options: SessionServerOptions): SessionServers {
  const sockets = new Set<Socket>();
  const limits = new ConnectionLimits(options.caps);
  /**
   * Counts a new TCP connection in, or refuses it: in clear text with the
   * protocol's error on the plain port; by closing it on the TLS port, where
   * the client is still waiting for a handshake. Counted before any TLS work,
   * so half-open handshakes count too.
   */
  const admit = (socket: Socket, answer: boolean): boolean => {
    socket.on('error', () => undefined);
    const address = socket.remoteAddress;
    const refusal = limits.acquire(address);
    if (refusal !== null) {
      options.logger.warn({ protocol: options.protocol, remoteAddress: address, open: limits.size }, `${options.protocol} connection refused: ${refusalText(refusal)}`);
      if (answer) socket.end(`${options.refuse(refusalText(refusal))}\r\n`);
      else socket.destroy();
      return false;
    }
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      limits.release(address);
    });
    return true;
  };
  const plain = createServer((socket) => {
    if (admit(socket, true)) options.open(socket, false);
  });
  const { tls } = options;
  const secure = options.implicitTls && tls ? createTlsServer({ key: tls.key, cert: tls.cert }, (socket) => options.open(socket, true)) : null;
  secure?.on('connection', (socket: Socket) => admit(socket, false));
  const servers = secure ? [plain, secure] : [plain];
  for (const server of servers) server.on('error', (error) => options.logger.warn({ err: error }, `${options.protocol} listener error`));
  const close = async (): Promise<void> => {
    const closed = servers.map((server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())));
    for (const socket of sockets) socket.destroy();
    await Promise.all(closed);
  };
  return { plain, secure, close };
}
