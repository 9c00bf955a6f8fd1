import { resolve } from 'node:path';
import type { Server as HttpServer } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { SMTPServer } from 'smtp-server';
import { buildApp } from './api/app.js';
import { Access } from './api/access.js';
import { attachLive } from './api/live.js';
import { secureEveryResponse } from './api/raw-errors.js';
import type { ListenerStatus } from './api/routes/system.js';
import { StartError, resolveConfig, type Compat, type LogLevel, type MailroomConfig, type RawSettings } from './config.js';
import { ConnectionLimits, refusalText } from './guard/connection-limits.js';
import { Credentials } from './guard/credentials.js';
import { IngestBudget } from './guard/ingest-budget.js';
import { LoginThrottle } from './guard/login-throttle.js';
import { createLogger } from './logger.js';
import { version } from './paths.js';
import { createImapServers } from './imap/imap-server.js';
import { createPop2Server } from './pop2/pop2-server.js';
import { createPop3Servers } from './pop3/pop3-server.js';
import { SmtpRuleSet } from './smtp/reject-rules.js';
import { createSmtpSink } from './smtp/smtp-sink.js';
import { MessageStore } from './store/message-store.js';
import { openMaildir, type OpenedMaildir } from './store/maildir/open-maildir.js';
import { MaildirFolderStores } from './store/maildir/maildir-folders.js';
import { MemoryFolderStores, type FolderStores } from './store/folder-stores.js';
import type { AutoTagSource } from './store/auto-tags.js';
import type { SmtpSecurity } from './relay/smtp-client.js';
import { loadTls } from './tls.js';

/** Options for starting Mailroom from code; each mirrors a CLI flag. */
export interface MailroomOptions {
  listen?: string;
  smtpPort?: number;
  smtpsPort?: number | null;
  httpPort?: number;
  pop3Port?: number;
  pop3sPort?: number | null;
  /** POP3 logins to require, user name to password; any credentials are accepted without. */
  pop3Auth?: Record<string, string>;
  /** Seconds before an idle POP2/POP3 session is logged out; default 600 (RFC 1939 §3). */
  pop3Idle?: number;
  /** POP2 (RFC 937), off unless set; uses the pop3Auth logins. */
  pop2Port?: number | null;
  imapPort?: number;
  imapsPort?: number | null;
  /** IMAP logins to require, user name to password; any credentials are accepted without. */
  imapAuth?: Record<string, string>;
  /** Seconds before an idle IMAP session is logged out; default 1800 (RFC 3501 §5.4). */
  imapIdle?: number;
  maxMessages?: number;
  /** Bytes, or a size with a unit such as '512MiB'. */
  maxStoreBytes?: number | string;
  maxMessageSize?: number | string;
  /** Bytes of messages being received at once, over SMTP sessions and IMAP APPENDs; default '128MiB'. */
  maxIngestBytes?: number | string;
  /** SMTP reject and delay rules in the --smtp-reject form, such as 'rcpt:*@bounce.test=550 No such user here'. */
  smtpReject?: string | readonly string[];
  tls?: 'self-signed' | { certFile: string; keyFile: string } | null;
  /** Origins whose pages may call the API (CORS), or '*'; none by default. */
  apiCors?: string | readonly string[];
  /** More host names the HTTP server answers (`name`, `.domain`), or '*'; loopback names and IP addresses always. */
  allowedHosts?: string | readonly string[];
  /** Basic-auth logins for the web inbox, API and socket.io, user name to plain password or bcrypt hash. */
  uiAuth?: Record<string, string>;
  /** Bearer token the API and socket.io then require (basic auth with it as the password works too). */
  apiToken?: string;
  /** SMTP logins to require, user name to plain password or bcrypt hash; any credentials, or none, without. */
  smtpAuth?: Record<string, string>;
  /** Open connections per listener; default 1000. */
  maxConnections?: number;
  /** Open connections per client address per listener; default 250. */
  maxConnectionsPerIp?: number;
  /** Seconds an SMTP client may be silent or take over one command line; default 60. */
  smtpTimeout?: number;
  /** Seconds an SMTP client may take over one message's content; default 600. */
  smtpDataTimeout?: number;
  /** Whose shape GET and DELETE /api/v1/messages take: 'mailpit' (default) or 'mailhog'. */
  compat?: Compat;
  /** Where new messages take tags from; default both X-Tags headers and plus-addresses, [] for none. */
  autoTags?: readonly AutoTagSource[];
  /** SMTP server released messages go to, 'host:port'; none by default, and releases fail. */
  smtpRelay?: string;
  /** Login for the relay; both or neither. */
  smtpRelayUser?: string;
  smtpRelayPassword?: string;
  /** 'auto' (default: implicit TLS on port 465, else STARTTLS when offered), 'starttls', 'tls' or 'none'. */
  smtpRelayTls?: SmtpSecurity;
  /** Accept the relay's certificate unchecked, such as a self-signed one. */
  smtpRelayInsecure?: boolean;
  /** Envelope sender and Return-Path of every release; the message's own sender by default. */
  smtpRelayReturnPath?: string;
  /** Release messages with their own Message-ID rather than a new one. */
  smtpRelayPreserveMessageIds?: boolean;
  /** Keep messages on disk in this directory (a Maildir), so they survive a restart; memory only without. */
  dataDir?: string;
  /** Default 'warn' from code (the CLI defaults to 'info'). */
  logLevel?: LogLevel;
  /** A pino logger to use instead of one made from logLevel. */
  logger?: Logger;
}

export interface Mailroom {
  /** Bound ports; with port 0 these are the ones the system picked. */
  ports: { smtp: number; http: number; pop3: number; imap: number; smtps?: number; pop3s?: number; pop2?: number; imaps?: number };
  /** Host to connect to: the listen address, or 127.0.0.1 when listening on every address. */
  host: string;
  apiUrl: string;
  close(): Promise<void>;
}

/** Options from code as the CLI's text settings, so both go through the same checks. */
function settingsFromOptions(options: MailroomOptions): RawSettings {
  const text = (value: number | string | undefined | null): string | undefined =>
    value === undefined || value === null ? undefined : String(value);
  const logins = (users: Record<string, string> | undefined): string | undefined =>
    users && Object.entries(users).map(([user, pass]) => `${user}:${pass}`).join(',');
  const list = (value: string | readonly string[] | undefined): string | undefined => (typeof value === 'string' ? value : value?.join(','));
  const tls = options.tls;
  return {
    listen: options.listen,
    smtpPort: text(options.smtpPort),
    smtpsPort: text(options.smtpsPort),
    httpPort: text(options.httpPort),
    pop3Port: text(options.pop3Port),
    pop3sPort: text(options.pop3sPort),
    pop3Idle: text(options.pop3Idle),
    pop3Auth: logins(options.pop3Auth),
    pop2Port: text(options.pop2Port),
    imapPort: text(options.imapPort),
    imapsPort: text(options.imapsPort),
    imapIdle: text(options.imapIdle),
    imapAuth: logins(options.imapAuth),
    maxMessages: text(options.maxMessages),
    maxStoreBytes: text(options.maxStoreBytes),
    maxMessageSize: text(options.maxMessageSize),
    maxIngestBytes: text(options.maxIngestBytes),
    smtpReject: options.smtpReject,
    tls: tls === 'self-signed' ? tls : undefined,
    tlsCert: tls && tls !== 'self-signed' ? tls.certFile : undefined,
    tlsKey: tls && tls !== 'self-signed' ? tls.keyFile : undefined,
    logLevel: options.logLevel ?? 'warn',
    apiCors: list(options.apiCors),
    allowedHosts: list(options.allowedHosts),
    uiAuth: logins(options.uiAuth),
    compat: options.compat,
    smtpRelay: options.smtpRelay,
    smtpRelayUser: options.smtpRelayUser,
    smtpRelayPassword: options.smtpRelayPassword,
    smtpRelayTls: options.smtpRelayTls,
    smtpRelayInsecure: options.smtpRelayInsecure === undefined ? undefined : String(options.smtpRelayInsecure),
    smtpRelayReturnPath: options.smtpRelayReturnPath,
    smtpRelayPreserveMessageIds: options.smtpRelayPreserveMessageIds === undefined ? undefined : String(options.smtpRelayPreserveMessageIds),
    autoTags: options.autoTags && (options.autoTags.length === 0 ? 'none' : options.autoTags.join(',')),
    dataDir: options.dataDir,
    apiToken: options.apiToken,
    smtpAuth: logins(options.smtpAuth),
    maxConnections: text(options.maxConnections),
    maxConnectionsPerIp: text(options.maxConnectionsPerIp),
    smtpTimeout: text(options.smtpTimeout),
    smtpDataTimeout: text(options.smtpDataTimeout),
  };
}

/** A protocol listener: how it starts, and, where it owns sessions, how it ends them. */
interface Listener {
  name: string;
  server: NetServer;
  listen(host: string): Promise<number>;
  close?: () => Promise<void>;
}

function listenOn(server: NetServer, start: (port: number, host: string, done: () => void) => void, port: number, host: string, flag: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => reject(portError(error, flag, port, host));
    server.once('error', onError);
    start(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function smtpListener(name: string, flag: string, port: number, smtp: SMTPServer): Listener {
  const server = smtp.server as NetServer;
  return {
    name,
    server,
    listen: (host) => listenOn(server, (p, h, done) => smtp.listen(p, h, done), port, host, flag),
    close: () => new Promise((resolve) => smtp.close(() => resolve())),
  };
}

function netListener(name: string, flag: string, port: number, server: NetServer, close?: () => Promise<void>): Listener {
  return { name, server, close, listen: (host) => listenOn(server, (p, h, done) => server.listen(p, h, done), port, host, flag) };
}

function portError(error: NodeJS.ErrnoException, flag: string, port: number, host: string): StartError {
  if (error.code === 'EADDRINUSE') return new StartError(flag, `port ${port} on ${host} is already in use`);
  if (error.code === 'EACCES') return new StartError(flag, `no permission to listen on port ${port}`);
  if (error.code === 'EADDRNOTAVAIL') return new StartError('--listen', `${host} is not an address of this machine`);
  return new StartError(flag, `cannot listen on ${host}:${port}: ${error.message}`);
}

function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || address.startsWith('127.');
}

/**
 * The HTTP server's share of the connection caps. Refused connections get a
 * plain 503 with a JSON body, written before Node's HTTP parser reads anything.
 */
function limitHttpConnections(server: HttpServer, limits: ConnectionLimits, logger: Logger): void {
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    const refusal = limits.acquire(address);
    if (refusal === null) {
      socket.once('close', () => limits.release(address));
      return;
    }
    logger.warn({ remoteAddress: address, open: limits.size }, `HTTP connection refused: ${refusalText(refusal)}`);
    const body = JSON.stringify({ error: 'unavailable', message: refusalText(refusal) });
    socket.end(
      `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `retry-after: 1\r\nx-content-type-options: nosniff\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}

/** The store and IMAP folders, loaded from the data directory when there is one. */
async function openStores(config: MailroomConfig, logger: Logger): Promise<{ store: MessageStore; folders: FolderStores }> {
  const limits = { maxMessages: config.maxMessages, maxBytes: config.maxStoreBytes };
  if (config.dataDir === null) return { store: new MessageStore(limits, { autoTags: config.autoTags }), folders: new MemoryFolderStores() };
  const started = performance.now();
  let opened: OpenedMaildir;
  try {
    opened = await openMaildir(config.dataDir, logger);
  } catch (error) {
    throw new StartError('--data-dir', (error as Error).message);
  }
  let folders: MaildirFolderStores;
  try {
    folders = await MaildirFolderStores.open(resolve(config.dataDir), logger);
  } catch (error) {
    await opened.journal.close();
    throw new StartError('--data-dir', (error as Error).message);
  }
  opened.journal.countAlso(() => folders.bytes());
  const store = new MessageStore(limits, { autoTags: config.autoTags, journal: opened.journal, restored: opened.restored });
  logger.info({ dataDir: config.dataDir, messages: store.size, ms: Math.round(performance.now() - started) }, `Loaded ${store.size} message${store.size === 1 ? '' : 's'} from ${config.dataDir}`);
  return { store, folders };
}

/** Starts every listener; resolves once all of them accept connections. */
export async function startMailroom(options: MailroomOptions = {}): Promise<Mailroom> {
  const config = resolveConfig(settingsFromOptions(options));
  return startWithConfig(config, options.logger ?? createLogger(config.logLevel));
}

export async function startWithConfig(config: MailroomConfig, logger: Logger): Promise<Mailroom> {
  const tls = await loadTls(config.tls);
  const { store, folders } = await openStores(config, logger);
  const host = config.listen === '0.0.0.0' || config.listen === '::' ? '127.0.0.1' : config.listen;
  // One rule set for both SMTP listeners and the API that replaces its rules at run time.
  const smtpRules = new SmtpRuleSet(config.smtpReject);
  // One count of failed logins per client address, whichever protocol they came over.
  const throttle = new LoginThrottle();
  const caps = { total: config.maxConnections, perAddress: config.maxConnectionsPerIp };

  const smtp = {
    store,
    logger,
    tls,
    maxMessageSize: config.maxMessageSize,
    rules: smtpRules,
    auth: config.smtpAuth && new Credentials(config.smtpAuth),
    throttle,
    limits: new ConnectionLimits(caps),
    commandTimeoutMs: config.smtpTimeoutSeconds * 1000,
    dataTimeoutMs: config.smtpDataTimeoutSeconds * 1000,
    ingest: new IngestBudget(config.maxIngestBytes),
  };
  const listeners: Listener[] = [smtpListener('smtp', '--smtp-port', config.smtpPort, createSmtpSink({ ...smtp, secure: false }))];
  if (config.smtpsPort !== null) listeners.push(smtpListener('smtps', '--smtps-port', config.smtpsPort, createSmtpSink({ ...smtp, secure: true })));
  const pop3 = createPop3Servers({ store, logger, tls, credentials: config.pop3Auth, idleMs: config.pop3IdleSeconds * 1000, throttle, caps }, config.pop3sPort !== null);
  // pop3.close() ends the sessions of both POP3 listeners.
  listeners.push(netListener('pop3', '--pop3-port', config.pop3Port, pop3.plain, pop3.close));
  if (pop3.secure && config.pop3sPort !== null) listeners.push(netListener('pop3s', '--pop3s-port', config.pop3sPort, pop3.secure));
  const pop2 = config.pop2Port === null ? null : createPop2Server({ store, logger, credentials: config.pop3Auth, locks: pop3.locks, idleMs: config.pop3IdleSeconds * 1000, throttle, caps });
  if (pop2 && config.pop2Port !== null) listeners.push(netListener('pop2', '--pop2-port', config.pop2Port, pop2.server, pop2.close));
  const imap = createImapServers(
    { store, logger, tls, credentials: config.imapAuth, idleMs: config.imapIdleSeconds * 1000, maxMessageSize: config.maxMessageSize, version, throttle, caps, ingest: smtp.ingest, folders },
    config.imapsPort !== null,
  );
  // imap.close() ends the sessions of both IMAP listeners.
  listeners.push(netListener('imap', '--imap-port', config.imapPort, imap.plain, imap.close));
  if (imap.secure && config.imapsPort !== null) listeners.push(netListener('imaps', '--imaps-port', config.imapsPort, imap.secure));
  const bound = new Map<string, number>();
  const status = (): ListenerStatus[] => [
    ...listeners.map((l) => ({ name: l.name, port: bound.get(l.name) ?? null, listening: l.server.listening })),
    { name: 'http', port: bound.get('http') ?? null, listening: app.server.listening },
  ];

  const access = new Access({
    listen: config.listen,
    allowedHosts: config.allowedHosts,
    corsOrigins: config.apiCors,
    users: config.uiAuth && new Credentials(config.uiAuth),
    token: config.apiToken,
    throttle,
  });
  const app = await buildApp({ store, logger, version, listeners: status, smtpRules, corsOrigins: config.apiCors, access, compat: config.compat, maxMessageSize: config.maxMessageSize, relay: config.smtpRelay });
  limitHttpConnections(app.server, new ConnectionLimits(caps), logger);
  const io = attachLive(app.server, store, access, config.apiCors);
  // After socket.io, which takes over the server's request listeners and answers its own paths before them.
  secureEveryResponse(app.server);

  const close = async (): Promise<void> => {
    // Upgraded WebSocket connections are invisible to the HTTP server's
    // connection tracking, so they are closed first; app.close() then ends
    // every HTTP connection, long polls included, instead of waiting for them.
    io.disconnectSockets(true);
    io.engine.close();
    await Promise.all([...listeners.map((l) => l.close?.()), app.close()]);
    // Folders first: the store's close lets go of the data directory's lock.
    await folders.close();
    await store.close();
  };

  try {
    for (const l of listeners) bound.set(l.name, await l.listen(config.listen));
    await app.listen({ port: config.httpPort, host: config.listen }).catch((error: NodeJS.ErrnoException) => {
      throw portError(error, '--http-port', config.httpPort, config.listen);
    });
    const address = app.server.address();
    bound.set('http', typeof address === 'object' && address ? address.port : config.httpPort);
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }

  const urlHost = host.includes(':') ? `[${host}]` : host;
  const ports: Mailroom['ports'] = { smtp: bound.get('smtp')!, http: bound.get('http')!, pop3: bound.get('pop3')!, imap: bound.get('imap')! };
  if (bound.has('smtps')) ports.smtps = bound.get('smtps')!;
  if (bound.has('pop3s')) ports.pop3s = bound.get('pop3s')!;
  if (bound.has('pop2')) ports.pop2 = bound.get('pop2')!;
  if (bound.has('imaps')) ports.imaps = bound.get('imaps')!;
  if (!isLoopback(config.listen) && !access.needsAuth) {
    logger.warn(
      { listen: config.listen },
      `Listening on ${config.listen} without --ui-auth or --api-token: anyone who can reach port ${ports.http} can read the captured mail`,
    );
  }
  logger.info(
    { ports, listen: config.listen },
    `Mailroom ${version}: SMTP on ${config.listen}:${ports.smtp}, POP3 on ${ports.pop3}, IMAP on ${ports.imap}, web and API on http://${urlHost}:${ports.http}`,
  );
  return { ports, host, apiUrl: `http://${urlHost}:${ports.http}`, close };
}
