import type { Server as NetServer } from 'node:net';
import type { Logger } from 'pino';
import type { SMTPServer } from 'smtp-server';
import { buildApp } from './api/app.js';
import { attachLive } from './api/live.js';
import type { ListenerStatus } from './api/routes/system.js';
import { resolveConfig, type LogLevel, type MailroomConfig, type RawSettings } from './config.js';
import { createLogger } from './logger.js';
import { version } from './paths.js';
import { createSmtpSink } from './smtp/smtp-sink.js';
import { MessageStore } from './store/message-store.js';
import { loadTls } from './tls.js';

/** Options for starting Mailroom from code; each mirrors a CLI flag. */
export interface MailroomOptions {
  listen?: string;
  smtpPort?: number;
  smtpsPort?: number | null;
  httpPort?: number;
  maxMessages?: number;
  /** Bytes, or a size with a unit such as '512MiB'. */
  maxStoreBytes?: number | string;
  maxMessageSize?: number | string;
  tls?: 'self-signed' | { certFile: string; keyFile: string } | null;
  /** Default 'warn' from code (the CLI defaults to 'info'). */
  logLevel?: LogLevel;
  /** A pino logger to use instead of one made from logLevel. */
  logger?: Logger;
}

export interface Mailroom {
  /** Bound ports; with port 0 these are the ones the system picked. */
  ports: { smtp: number; http: number; smtps?: number };
  /** Host to connect to: the listen address, or 127.0.0.1 when listening on every address. */
  host: string;
  apiUrl: string;
  close(): Promise<void>;
}

/** Options from code as the CLI's text settings, so both go through the same checks. */
function settingsFromOptions(options: MailroomOptions): RawSettings {
  const text = (value: number | string | undefined | null): string | undefined =>
    value === undefined || value === null ? undefined : String(value);
  const tls = options.tls;
  return {
    listen: options.listen,
    smtpPort: text(options.smtpPort),
    smtpsPort: text(options.smtpsPort),
    httpPort: text(options.httpPort),
    maxMessages: text(options.maxMessages),
    maxStoreBytes: text(options.maxStoreBytes),
    maxMessageSize: text(options.maxMessageSize),
    tls: tls === 'self-signed' ? tls : undefined,
    tlsCert: tls && tls !== 'self-signed' ? tls.certFile : undefined,
    tlsKey: tls && tls !== 'self-signed' ? tls.keyFile : undefined,
    logLevel: options.logLevel ?? 'warn',
  };
}

function listenSmtp(server: SMTPServer, port: number, host: string, flag: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const net = server.server as NetServer;
    const onError = (error: NodeJS.ErrnoException): void => reject(portError(error, flag, port, host));
    net.once('error', onError);
    server.listen(port, host, () => {
      net.off('error', onError);
      const address = net.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function portError(error: NodeJS.ErrnoException, flag: string, port: number, host: string): Error {
  if (error.code === 'EADDRINUSE') return new Error(`${flag}: port ${port} on ${host} is already in use`);
  if (error.code === 'EACCES') return new Error(`${flag}: no permission to listen on port ${port}`);
  if (error.code === 'EADDRNOTAVAIL') return new Error(`--listen: ${host} is not an address of this machine`);
  return new Error(`${flag}: cannot listen on ${host}:${port}: ${error.message}`);
}

function closeSmtp(server: SMTPServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Starts every listener; resolves once all of them accept connections. */
export async function startMailroom(options: MailroomOptions = {}): Promise<Mailroom> {
  const config = resolveConfig(settingsFromOptions(options));
  return startWithConfig(config, options.logger ?? createLogger(config.logLevel));
}

export async function startWithConfig(config: MailroomConfig, logger: Logger): Promise<Mailroom> {
  const tls = await loadTls(config.tls);
  const store = new MessageStore({ maxMessages: config.maxMessages, maxBytes: config.maxStoreBytes });
  const host = config.listen === '0.0.0.0' || config.listen === '::' ? '127.0.0.1' : config.listen;

  const smtpServers: { name: string; flag: string; server: SMTPServer; port: number }[] = [
    { name: 'smtp', flag: '--smtp-port', server: createSmtpSink({ store, logger, tls, secure: false, maxMessageSize: config.maxMessageSize }), port: config.smtpPort },
  ];
  if (config.smtpsPort !== null) {
    smtpServers.push({
      name: 'smtps',
      flag: '--smtps-port',
      server: createSmtpSink({ store, logger, tls, secure: true, maxMessageSize: config.maxMessageSize }),
      port: config.smtpsPort,
    });
  }
  const bound = new Map<string, number>();
  const listeners = (): ListenerStatus[] => [
    ...smtpServers.map((s) => ({ name: s.name, port: bound.get(s.name) ?? null, listening: (s.server.server as NetServer).listening })),
    { name: 'http', port: bound.get('http') ?? null, listening: app.server.listening },
  ];

  const app = await buildApp({ store, logger, version, listeners });
  const io = attachLive(app.server, store);

  const close = async (): Promise<void> => {
    // Upgraded WebSocket connections are invisible to the HTTP server's
    // connection tracking, so they are closed first; app.close() then ends
    // every HTTP connection, long polls included, instead of waiting for them.
    io.disconnectSockets(true);
    io.engine.close();
    await Promise.all([...smtpServers.map((s) => closeSmtp(s.server)), app.close()]);
  };

  try {
    for (const s of smtpServers) bound.set(s.name, await listenSmtp(s.server, s.port, config.listen, s.flag));
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
  const ports = { smtp: bound.get('smtp')!, http: bound.get('http')!, ...(bound.has('smtps') ? { smtps: bound.get('smtps')! } : {}) };
  logger.info({ ports, listen: config.listen }, `Mailroom ${version}: SMTP on ${config.listen}:${ports.smtp}, web and API on http://${urlHost}:${ports.http}`);
  return { ports, host, apiUrl: `http://${urlHost}:${ports.http}`, close };
}
