import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import { createSessionServers, type SessionServers } from '../session-servers.js';
import type { ConnectionCaps } from '../guard/connection-limits.js';
import type { LoginThrottle } from '../guard/login-throttle.js';
import type { TlsMaterial } from '../tls.js';
import { Pop3Session, type Pop3Context } from './session.js';

export interface Pop3Options {
  store: Store;
  logger: Logger;
  tls: TlsMaterial | null;
  credentials: ReadonlyMap<string, string> | null;
  /** RFC 1939 §3: at least 10 minutes. */
  idleMs: number;
  throttle: LoginThrottle;
  /** Connections both listeners hold open at most. */
  caps: ConnectionCaps;
}

/** Sessions ended by close() in TRANSACTION delete nothing (RFC 1939 §6). */
export interface Pop3Servers extends SessionServers {
  /** Maildrops in use, by lower-case user name; POP2 shares it so one maildrop has one session. */
  locks: Set<string>;
}

/** POP3 over the shared store; both listeners share one lock table, as they share maildrops. */
export function createPop3Servers(options: Pop3Options, withImplicitTls: boolean): Pop3Servers {
  const ctx: Pop3Context = { ...options, locks: new Set(), hostname: hostname() };
  const servers = createSessionServers({
    protocol: 'POP3',
    logger: options.logger,
    tls: options.tls,
    implicitTls: withImplicitTls,
    caps: options.caps,
    // RFC 3206 §4: SYS/TEMP, a temporary failure that a later connection may not meet.
    refuse: (text) => `-ERR [SYS/TEMP] ${text}`,
    open: (socket, secure) => new Pop3Session(socket, ctx, secure),
  });
  return { ...servers, locks: ctx.locks };
}
