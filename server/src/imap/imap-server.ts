import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Logger } from 'pino';
import type { MessageStore } from '../store/message-store.js';
import type { TlsMaterial } from '../tls.js';
import { Accounts } from './mailbox/account.js';
import { FolderQuota } from './mailbox/quota.js';
import { ImapSession, type ImapContext } from './session.js';
import { DEFAULT_LIMITS } from './wire/limits.js';

export interface ImapOptions {
  store: MessageStore;
  logger: Logger;
  tls: TlsMaterial | null;
  credentials: ReadonlyMap<string, string> | null;
  /** RFC 3501 §5.4: at least 30 minutes. */
  idleMs: number;
  /** The largest APPEND, the same as the largest message SMTP takes. */
  maxMessageSize: number;
  version: string;
}

export interface ImapServers {
  plain: Server;
  /** Implicit TLS (IMAPS), when asked for. */
  secure: Server | null;
  /** Stops listening and ends every session. */
  close(): Promise<void>;
}

/** IMAP over the shared store; both listeners share the accounts, so folders are the same over either. */
export function createImapServers(options: ImapOptions, withImplicitTls: boolean): ImapServers {
  const ctx: ImapContext = {
    store: options.store,
    logger: options.logger,
    tls: options.tls,
    credentials: options.credentials,
    accounts: new Accounts(options.store, new FolderQuota(options.store.limits.maxMessages, options.store.limits.maxBytes)),
    limits: { ...DEFAULT_LIMITS, appendBytes: options.maxMessageSize },
    idleMs: options.idleMs,
    version: options.version,
  };
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const plain = createServer((socket) => {
    track(socket);
    new ImapSession(socket, ctx, false);
  });
  const { tls } = options;
  const secure =
    withImplicitTls && tls
      ? createTlsServer({ key: tls.key, cert: tls.cert }, (socket) => {
          track(socket);
          new ImapSession(socket, ctx, true);
        })
      : null;
  const servers = secure ? [plain, secure] : [plain];
  for (const server of servers) server.on('error', (error) => options.logger.warn({ err: error }, 'IMAP listener error'));
  const close = async (): Promise<void> => {
    const closed = servers.map((server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())));
    for (const socket of sockets) socket.destroy();
    await Promise.all(closed);
  };
  return { plain, secure, close };
}
