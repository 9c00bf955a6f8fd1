import type { Server } from 'node:net';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { ConnectionCaps } from '../guard/connection-limits.js';
import type { LoginThrottle } from '../guard/login-throttle.js';
import { createSessionServers } from '../session-servers.js';
import type { Store } from '../store/store.js';
import { Pop2Session, type Pop2Context } from './session.js';

export interface Pop2Options {
  store: Store;
  logger: Logger;
  /** The `--pop3-auth` logins; null accepts any password. */
  credentials: ReadonlyMap<string, string> | null;
  /** The POP3 lock table, so a maildrop is never open in both protocols at once. */
  locks: Set<string>;
  idleMs: number;
  throttle: LoginThrottle;
  caps: ConnectionCaps;
}

export interface Pop2Server {
  server: Server;
  /** Stops listening and ends every session; a session ended this way deletes nothing. */
  close(): Promise<void>;
}

/** POP2 (RFC 937) over the shared store. */
export function createPop2Server(options: Pop2Options): Pop2Server {
  const ctx: Pop2Context = { ...options, hostname: hostname() };
  const { plain, close } = createSessionServers({
    protocol: 'POP2',
    logger: options.logger,
    tls: null,
    implicitTls: false,
    caps: options.caps,
    refuse: (text) => `- ${text}`,
    open: (socket) => new Pop2Session(socket, ctx),
  });
  return { server: plain, close };
}
