import { createServer, type Server, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { createServer as createTlsServer } from 'node:tls';
import type { Logger } from 'pino';
import type { MessageStore } from '../store/message-store.js';
import type { TlsMaterial } from '../tls.js';
import { Pop3Session, type Pop3Context } from './session.js';

export interface Pop3Options {
  store: MessageStore;
  logger: Logger;
  tls: TlsMaterial | null;
  credentials: ReadonlyMap<string, string> | null;
  /** RFC 1939 §3: at least 10 minutes. */
  idleMs: number;
}

export interface Pop3Servers {
  plain: Server;
  /** Implicit TLS (POP3S), when asked for. */
  secure: Server | null;
  /** Maildrops in use, by lower-case user name; POP2 shares it so one maildrop has one session. */
  locks: Set<string>;
  /** Stops listening and ends every session; sessions in TRANSACTION delete nothing (RFC 1939 §6). */
  close(): Promise<void>;
}

/** POP3 over the shared store; both listeners share one lock table, as they share maildrops. */
export function createPop3Servers(options: Pop3Options, withImplicitTls: boolean): Pop3Servers {
  const ctx: Pop3Context = { ...options, locks: new Set(), hostname: hostname() };
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const plain = createServer((socket) => {
    track(socket);
    new Pop3Session(socket, ctx, false);
  });
  const { tls } = options;
  const secure =
    withImplicitTls && tls
      ? createTlsServer({ key: tls.key, cert: tls.cert }, (socket) => {
          track(socket);
          new Pop3Session(socket, ctx, true);
        })
      : null;
  const servers = secure ? [plain, secure] : [plain];
  for (const server of servers) server.on('error', (error) => options.logger.warn({ err: error }, 'POP3 listener error'));
  const close = async (): Promise<void> => {
    const closed = servers.map((server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())));
    for (const socket of sockets) socket.destroy();
    await Promise.all(closed);
  };
  return { plain, secure, locks: ctx.locks, close };
}
