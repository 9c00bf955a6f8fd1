import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Logger } from 'pino';
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
  /** Starts the protocol session on a new connection. */
  open(socket: Socket, secure: boolean): void;
}

/**
 * The listeners of a line protocol (POP2, POP3, IMAP): plain, and implicit TLS
 * when asked for, sharing one set of open connections so that close() ends
 * them all instead of waiting for clients to leave.
 */
export function createSessionServers(options: SessionServerOptions): SessionServers {
  const sockets = new Set<Socket>();
  const accept = (socket: Socket, secure: boolean): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    options.open(socket, secure);
  };
  const plain = createServer((socket) => accept(socket, false));
  const { tls } = options;
  const secure = options.implicitTls && tls ? createTlsServer({ key: tls.key, cert: tls.cert }, (socket) => accept(socket, true)) : null;
  const servers = secure ? [plain, secure] : [plain];
  for (const server of servers) server.on('error', (error) => options.logger.warn({ err: error }, `${options.protocol} listener error`));
  const close = async (): Promise<void> => {
    const closed = servers.map((server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())));
    for (const socket of sockets) socket.destroy();
    await Promise.all(closed);
  };
  return { plain, secure, close };
}
