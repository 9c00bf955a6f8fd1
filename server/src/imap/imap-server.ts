import type { Logger } from 'pino';
import type { ConnectionCaps } from '../guard/connection-limits.js';
import type { IngestBudget } from '../guard/ingest-budget.js';
import type { LoginThrottle } from '../guard/login-throttle.js';
import { createSessionServers, type SessionServers } from '../session-servers.js';
import type { Store } from '../store/store.js';
import type { TlsMaterial } from '../tls.js';
import { MemoryFolderStores, type FolderStores } from '../store/folder-stores.js';
import { Accounts } from './mailbox/account.js';
import { FolderQuota } from './mailbox/quota.js';
import { ImapSession, type ImapContext } from './session.js';
import { DEFAULT_LIMITS } from './wire/limits.js';

export interface ImapOptions {
  store: Store;
  logger: Logger;
  tls: TlsMaterial | null;
  credentials: ReadonlyMap<string, string> | null;
  /** RFC 3501 §5.4: at least 30 minutes. */
  idleMs: number;
  /** The largest APPEND, the same as the largest message SMTP takes. */
  maxMessageSize: number;
  version: string;
  throttle: LoginThrottle;
  /** Messages being received, shared with SMTP: APPEND literals count. */
  ingest: IngestBudget;
  /** Connections both listeners hold open at most. */
  caps: ConnectionCaps;
  /** Where users' folders live; memory unless given. */
  folders?: FolderStores;
}

/** IMAP over the shared store; both listeners share the accounts, so folders are the same over either. */
export function createImapServers(options: ImapOptions, withImplicitTls: boolean): SessionServers {
  const ctx: ImapContext = {
    store: options.store,
    logger: options.logger,
    tls: options.tls,
    credentials: options.credentials,
    accounts: new Accounts(options.store, new FolderQuota(options.store.limits.maxMessages, options.store.limits.maxBytes), options.folders ?? new MemoryFolderStores()),
    limits: { ...DEFAULT_LIMITS, appendBytes: options.maxMessageSize },
    idleMs: options.idleMs,
    version: options.version,
    throttle: options.throttle,
    ingest: options.ingest,
  };
  return createSessionServers({
    protocol: 'IMAP',
    logger: options.logger,
    tls: options.tls,
    implicitTls: withImplicitTls,
    caps: options.caps,
    // RFC 5530 §3: UNAVAILABLE, a temporary failure that a later connection may not meet.
    refuse: (text) => `* BYE [UNAVAILABLE] ${text}`,
    open: (socket, secure) => new ImapSession(socket, ctx, secure),
  });
}
