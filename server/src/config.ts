import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { sizeInBytes } from './size.js';
import { AUTO_TAG_SOURCES, type AutoTagSource } from './store/auto-tags.js';
import { RuleError, parseRule, splitRules, type SmtpRule } from './smtp/reject-rules.js';
import type { RelaySettings } from './relay/relay.js';
import { SMTP_SECURITY } from './relay/smtp-client.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type TlsSetting = { selfSigned: true } | { certFile: string; keyFile: string } | null;

export interface MailroomConfig {
  listen: string;
  smtpPort: number;
  /** Implicit-TLS SMTP; null means off. */
  smtpsPort: number | null;
  httpPort: number;
  pop3Port: number;
  /** Implicit-TLS POP3; null means off. */
  pop3sPort: number | null;
  /** POP3 user name to password; null accepts any credentials. */
  pop3Auth: ReadonlyMap<string, string> | null;
  /** Seconds a POP2/POP3 session may stay silent before it is logged out. */
  pop3IdleSeconds: number;
  /** POP2 (RFC 937); null means off. */
  pop2Port: number | null;
  imapPort: number;
  /** Implicit-TLS IMAP; null means off. */
  imapsPort: number | null;
  /** IMAP user name to password; null accepts any credentials. */
  imapAuth: ReadonlyMap<string, string> | null;
  /** Seconds an IMAP session may stay silent before it is logged out. */
  imapIdleSeconds: number;
  maxMessages: number;
  maxStoreBytes: number;
  maxMessageSize: number;
  /** Bytes of messages being received at once, over SMTP sessions and IMAP literals. */
  maxIngestBytes: number;
  /** SMTP reject and delay rules at start; `PUT /api/smtp/rules` replaces them at run time. */
  smtpReject: readonly SmtpRule[];
  tls: TlsSetting;
  logLevel: LogLevel;
  /** Origins whose pages may call the API (CORS); empty means none but Mailroom's own. */
  apiCors: string[];
  /** Host names the HTTP server answers besides loopback names, IP addresses and the listen address; ['*'] answers any. */
  allowedHosts: string[];
  /** Basic-auth logins for the web inbox, API and socket.io (plain or bcrypt secrets); null means none needed. */
  uiAuth: ReadonlyMap<string, string> | null;
  /** Bearer token for the API and socket.io; null means none. */
  apiToken: string | null;
  /** SMTP logins to require (plain or bcrypt secrets); null accepts any credentials and none. */
  smtpAuth: ReadonlyMap<string, string> | null;
  /** Open connections per listener (SMTP, POP3, IMAP, HTTP...). */
  maxConnections: number;
  /** Open connections per client address per listener. */
  maxConnectionsPerIp: number;
  /** Seconds an SMTP client may be silent, or take to send one command line, however it trickles. */
  smtpTimeoutSeconds: number;
  /** Seconds an SMTP client may take to send a message, from the 354 to the final dot. */
  smtpDataTimeoutSeconds: number;
  /** Where to write the ports and API URL as JSON once every listener is up; null means nowhere. */
  readyFile: string | null;
  /** Whose shape GET and DELETE /api/v1/messages take, the one route Mailpit and MailHog both have. */
  compat: Compat;
  /** Where released messages go (POST /api/messages/:id/release, Mailpit's release); null means nowhere. */
  smtpRelay: RelaySettings | null;
  /** Where new messages take tags from: X-Tags headers and plus-addresses by default. */
  autoTags: ReadonlySet<AutoTagSource>;
  /** Where messages are kept on disk as a Maildir; null keeps them in memory only. */
  dataDir: string | null;
}

export type Compat = 'mailpit' | 'mailhog';

/**
 * A setting Mailroom cannot run with. `flag` names the setting by its CLI flag; the CLI names the
 * environment variable instead when that is where the value came from (see settingName).
 */
export class SettingError extends Error {
  constructor(
    readonly flag: string,
    readonly detail: string,
  ) {
    super(`${flag}: ${detail}`);
  }
}

/** A value that is wrong in itself or with the others: bad usage. */
export class ConfigError extends SettingError {}

/** A value that is well formed but Mailroom could not start with on this machine, such as a port already taken. */
export class StartError extends SettingError {}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

interface OptionSpec {
  flag: string;
  key: keyof RawSettings;
  env: string;
  arg: string;
  help: string;
  /** The flag may be given more than once; every value is kept, in order. */
  multiple?: true;
  /** The flag takes no value; its environment variable takes true or false. */
  switch?: true;
}

/** Every setting as text, the shape shared by flags and environment variables. */
export interface RawSettings {
  listen?: string;
  smtpPort?: string;
  smtpsPort?: string;
  httpPort?: string;
  pop3Port?: string;
  pop3sPort?: string;
  pop3Auth?: string;
  pop3Idle?: string;
  pop2Port?: string;
  imapPort?: string;
  imapsPort?: string;
  imapAuth?: string;
  imapIdle?: string;
  maxMessages?: string;
  maxStoreBytes?: string;
  maxMessageSize?: string;
  maxIngestBytes?: string;
  /** Rules, each string holding one or more (see splitRules). */
  smtpReject?: string | readonly string[];
  tls?: string;
  tlsCert?: string;
  tlsKey?: string;
  logLevel?: string;
  apiCors?: string;
  allowedHosts?: string;
  uiAuth?: string;
  apiToken?: string;
  smtpAuth?: string;
  maxConnections?: string;
  maxConnectionsPerIp?: string;
  smtpTimeout?: string;
  smtpDataTimeout?: string;
  readyFile?: string;
  compat?: string;
  smtpRelay?: string;
  smtpRelayUser?: string;
  smtpRelayPassword?: string;
  smtpRelayTls?: string;
  smtpRelayInsecure?: string;
  smtpRelayReturnPath?: string;
  smtpRelayPreserveMessageIds?: string;
  autoTags?: string;
  dataDir?: string;
}

export const OPTIONS: readonly OptionSpec[] = [
  { flag: '--listen', key: 'listen', env: 'MAILROOM_LISTEN', arg: 'ADDR', help: 'address every listener binds to (default 127.0.0.1)' },
  { flag: '--smtp-port', key: 'smtpPort', env: 'MAILROOM_SMTP_PORT', arg: 'PORT', help: 'SMTP port, 0 picks a free one (default 1025)' },
  { flag: '--smtps-port', key: 'smtpsPort', env: 'MAILROOM_SMTPS_PORT', arg: 'PORT', help: 'implicit-TLS SMTP port; needs TLS (default off)' },
  { flag: '--http-port', key: 'httpPort', env: 'MAILROOM_HTTP_PORT', arg: 'PORT', help: 'HTTP API and web inbox port (default 8025)' },
  { flag: '--pop3-port', key: 'pop3Port', env: 'MAILROOM_POP3_PORT', arg: 'PORT', help: 'POP3 port (default 1110)' },
  { flag: '--pop3s-port', key: 'pop3sPort', env: 'MAILROOM_POP3S_PORT', arg: 'PORT', help: 'implicit-TLS POP3 port; needs TLS (default off)' },
  { flag: '--pop3-auth', key: 'pop3Auth', env: 'MAILROOM_POP3_AUTH', arg: 'USERS', help: 'require these POP3 logins: user:pass,... or @file with one per line (default: any)' },
  { flag: '--pop2-port', key: 'pop2Port', env: 'MAILROOM_POP2_PORT', arg: 'PORT', help: 'POP2 (RFC 937) port; 109 is the historic one (default off)' },
  { flag: '--pop3-idle', key: 'pop3Idle', env: 'MAILROOM_POP3_IDLE', arg: 'SECONDS', help: 'log out POP2/POP3 sessions idle this long (default 600, the RFC 1939 minimum)' },
  { flag: '--imap-port', key: 'imapPort', env: 'MAILROOM_IMAP_PORT', arg: 'PORT', help: 'IMAP port (default 1143)' },
  { flag: '--imaps-port', key: 'imapsPort', env: 'MAILROOM_IMAPS_PORT', arg: 'PORT', help: 'implicit-TLS IMAP port; needs TLS (default off)' },
  { flag: '--imap-auth', key: 'imapAuth', env: 'MAILROOM_IMAP_AUTH', arg: 'USERS', help: 'require these IMAP logins: user:pass,... or @file with one per line (default: any)' },
  { flag: '--imap-idle', key: 'imapIdle', env: 'MAILROOM_IMAP_IDLE', arg: 'SECONDS', help: 'log out IMAP sessions idle this long (default 1800, the RFC 3501 minimum)' },
  { flag: '--data-dir', key: 'dataDir', env: 'MAILROOM_DATA_DIR', arg: 'DIR', help: 'keep messages on disk in DIR, a Maildir, so they survive a restart; each is written before it is acknowledged (default: memory only)' },
  { flag: '--max-messages', key: 'maxMessages', env: 'MAILROOM_MAX_MESSAGES', arg: 'N', help: 'keep at most N messages, evicting the oldest (default 10000)' },
  { flag: '--max-store-bytes', key: 'maxStoreBytes', env: 'MAILROOM_MAX_STORE_BYTES', arg: 'SIZE', help: 'keep at most SIZE of raw mail, evicting the oldest (default 512MiB)' },
  { flag: '--max-message-size', key: 'maxMessageSize', env: 'MAILROOM_MAX_MESSAGE_SIZE', arg: 'SIZE', help: 'refuse larger messages with SMTP 552 (default 25MiB)' },
  { flag: '--max-ingest-bytes', key: 'maxIngestBytes', env: 'MAILROOM_MAX_INGEST_BYTES', arg: 'SIZE', help: 'messages being received at once, over SMTP sessions and IMAP APPENDs; past it SMTP 452, IMAP NO [LIMIT] (default 128MiB)' },
  { flag: '--smtp-reject', key: 'smtpReject', env: 'MAILROOM_SMTP_REJECT', arg: 'RULE', help: 'answer matching SMTP commands with an error or late; repeatable, see "SMTP rules" below (default none)', multiple: true },
  { flag: '--tls', key: 'tls', env: 'MAILROOM_TLS', arg: 'self-signed', help: 'generate a self-signed certificate at start' },
  { flag: '--tls-cert', key: 'tlsCert', env: 'MAILROOM_TLS_CERT', arg: 'FILE', help: 'PEM certificate for STARTTLS and implicit TLS' },
  { flag: '--tls-key', key: 'tlsKey', env: 'MAILROOM_TLS_KEY', arg: 'FILE', help: 'PEM private key matching --tls-cert' },
  { flag: '--api-cors', key: 'apiCors', env: 'MAILROOM_API_CORS', arg: 'ORIGINS', help: 'let pages from these origins call the API: * or a comma-separated list (default: none)' },
  { flag: '--allowed-hosts', key: 'allowedHosts', env: 'MAILROOM_ALLOWED_HOSTS', arg: 'HOSTS', help: 'more host names the web inbox and API answer to (.example.test for subdomains, * for any; default: loopback and IP addresses)' },
  { flag: '--ui-auth', key: 'uiAuth', env: 'MAILROOM_UI_AUTH', arg: 'USERS', help: 'require HTTP basic auth for the web inbox, API and live events: user:pass,... or @file; bcrypt hashes allowed (default: none)' },
  { flag: '--api-token', key: 'apiToken', env: 'MAILROOM_API_TOKEN', arg: 'TOKEN', help: 'require this bearer token (or basic auth with it as password) for the API, or @file (default: none)' },
  { flag: '--smtp-auth', key: 'smtpAuth', env: 'MAILROOM_SMTP_AUTH', arg: 'USERS', help: 'SMTP requires AUTH with these logins: user:pass,... or @file; bcrypt hashes allowed (default: any or none)' },
  { flag: '--max-connections', key: 'maxConnections', env: 'MAILROOM_MAX_CONNECTIONS', arg: 'N', help: 'open connections per listener; more are refused (default 1000)' },
  { flag: '--max-connections-per-ip', key: 'maxConnectionsPerIp', env: 'MAILROOM_MAX_CONNECTIONS_PER_IP', arg: 'N', help: 'open connections per client address per listener (default 250)' },
  { flag: '--smtp-timeout', key: 'smtpTimeout', env: 'MAILROOM_SMTP_TIMEOUT', arg: 'SECONDS', help: 'close SMTP sessions silent this long, or this slow to send a command line (default 60)' },
  { flag: '--smtp-data-timeout', key: 'smtpDataTimeout', env: 'MAILROOM_SMTP_DATA_TIMEOUT', arg: 'SECONDS', help: 'close SMTP sessions that take longer to send a message (default 600)' },
  { flag: '--smtp-relay', key: 'smtpRelay', env: 'MAILROOM_SMTP_RELAY', arg: 'HOST:PORT', help: 'SMTP server that released messages go to; the port defaults to 25 (default: none, releases fail)' },
  { flag: '--smtp-relay-user', key: 'smtpRelayUser', env: 'MAILROOM_SMTP_RELAY_USER', arg: 'USER', help: 'log in to the relay as USER; needs --smtp-relay-password (default: no login)' },
  { flag: '--smtp-relay-password', key: 'smtpRelayPassword', env: 'MAILROOM_SMTP_RELAY_PASSWORD', arg: 'PASS', help: "the relay login's password, or @file; prefer the variable or a file, which ps does not show" },
  { flag: '--smtp-relay-tls', key: 'smtpRelayTls', env: 'MAILROOM_SMTP_RELAY_TLS', arg: 'MODE', help: 'auto (TLS on port 465, else STARTTLS when offered), starttls (required), tls (implicit) or none (default auto)' },
  { flag: '--smtp-relay-insecure', key: 'smtpRelayInsecure', env: 'MAILROOM_SMTP_RELAY_INSECURE', arg: '', help: "accept the relay's certificate unchecked, such as a self-signed one", switch: true },
  { flag: '--smtp-relay-return-path', key: 'smtpRelayReturnPath', env: 'MAILROOM_SMTP_RELAY_RETURN_PATH', arg: 'ADDR', help: "envelope sender and Return-Path of every release (default: the message's sender)" },
  { flag: '--smtp-relay-preserve-message-ids', key: 'smtpRelayPreserveMessageIds', env: 'MAILROOM_SMTP_RELAY_PRESERVE_MESSAGE_IDS', arg: '', help: 'release messages with their own Message-ID rather than a new one', switch: true },
  { flag: '--ready-file', key: 'readyFile', env: 'MAILROOM_READY_FILE', arg: 'PATH', help: 'once every listener is up, write the ports and API URL there as JSON, removed on exit; wait, healthcheck and send read it to find Mailroom' },
  { flag: '--compat', key: 'compat', env: 'MAILROOM_COMPAT', arg: 'NAME', help: 'mailpit or mailhog: whose answer GET and DELETE /api/v1/messages give, the one route both APIs have (default mailpit)' },
  { flag: '--auto-tags', key: 'autoTags', env: 'MAILROOM_AUTO_TAGS', arg: 'SOURCES', help: 'tag new mail from its x-tags header and plus-addresses (user+tag@): both, one, or none (default x-tags,plus-addresses)' },
  { flag: '--log-level', key: 'logLevel', env: 'MAILROOM_LOG_LEVEL', arg: 'LEVEL', help: `one of ${LOG_LEVELS.join(', ')} (default info)` },
];

function parsePort(flag: string, text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new ConfigError(flag, `expected a port number from 0 to 65535, got "${text}"`);
  }
  return Number(text);
}

function parseCount(flag: string, text: string): number {
  if (!/^\d{1,15}$/.test(text) || Number(text) < 1) {
    throw new ConfigError(flag, `expected a whole number of at least 1, got "${text}"`);
  }
  return Number(text);
}

/** Sizes take a unit so that `512MiB` in a compose file means what it says. */
export function parseSize(flag: string, text: string): number {
  const bytes = sizeInBytes(text);
  if (bytes === undefined) {
    throw new ConfigError(flag, `expected a size such as 1048576, 512KiB, 25MiB or 1GiB, got "${text}"`);
  }
  if (bytes < 1 || !Number.isSafeInteger(bytes)) {
    throw new ConfigError(flag, `expected a size of at least 1 byte, got "${text}"`);
  }
  return bytes;
}

function parseListen(text: string): string {
  const hostname = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;
  if (isIP(text) === 0 && !hostname.test(text)) {
    throw new ConfigError('--listen', `expected an IP address or host name, got "${text}"`);
  }
  return text;
}

/**
 * Turns text settings (flags win over environment) into a checked configuration.
 * Every failure names the flag, because that is what the user typed or must type.
 */
export function resolveConfig(raw: RawSettings): MailroomConfig {
  const tls = resolveTls(raw);
  const config: MailroomConfig = {
    listen: parseListen(raw.listen ?? '127.0.0.1'),
    smtpPort: parsePort('--smtp-port', raw.smtpPort ?? '1025'),
    smtpsPort: raw.smtpsPort === undefined ? null : parsePort('--smtps-port', raw.smtpsPort),
    httpPort: parsePort('--http-port', raw.httpPort ?? '8025'),
    pop3Port: parsePort('--pop3-port', raw.pop3Port ?? '1110'),
    pop3sPort: raw.pop3sPort === undefined ? null : parsePort('--pop3s-port', raw.pop3sPort),
    pop3Auth: raw.pop3Auth === undefined ? null : parseCredentials('--pop3-auth', raw.pop3Auth),
    pop3IdleSeconds: parseCount('--pop3-idle', raw.pop3Idle ?? '600'),
    pop2Port: raw.pop2Port === undefined ? null : parsePort('--pop2-port', raw.pop2Port),
    imapPort: parsePort('--imap-port', raw.imapPort ?? '1143'),
    imapsPort: raw.imapsPort === undefined ? null : parsePort('--imaps-port', raw.imapsPort),
    imapAuth: raw.imapAuth === undefined ? null : parseCredentials('--imap-auth', raw.imapAuth),
    imapIdleSeconds: parseCount('--imap-idle', raw.imapIdle ?? '1800'),
    maxMessages: parseCount('--max-messages', raw.maxMessages ?? '10000'),
    maxStoreBytes: parseSize('--max-store-bytes', raw.maxStoreBytes ?? '512MiB'),
    maxMessageSize: parseSize('--max-message-size', raw.maxMessageSize ?? '25MiB'),
    maxIngestBytes: parseSize('--max-ingest-bytes', raw.maxIngestBytes ?? '128MiB'),
    smtpReject: parseSmtpRules(raw.smtpReject),
    tls,
    logLevel: parseLogLevel(raw.logLevel ?? 'info'),
    apiCors: parseOrigins(raw.apiCors),
    allowedHosts: parseHosts(raw.allowedHosts),
    uiAuth: raw.uiAuth === undefined ? null : parseCredentials('--ui-auth', raw.uiAuth),
    apiToken: raw.apiToken === undefined ? null : parseToken(raw.apiToken),
    smtpAuth: raw.smtpAuth === undefined ? null : parseCredentials('--smtp-auth', raw.smtpAuth),
    maxConnections: parseCount('--max-connections', raw.maxConnections ?? '1000'),
    maxConnectionsPerIp: parseCount('--max-connections-per-ip', raw.maxConnectionsPerIp ?? '250'),
    smtpTimeoutSeconds: parseCount('--smtp-timeout', raw.smtpTimeout ?? '60'),
    smtpDataTimeoutSeconds: parseCount('--smtp-data-timeout', raw.smtpDataTimeout ?? '600'),
    readyFile: raw.readyFile ?? null,
    compat: parseCompat(raw.compat ?? 'mailpit'),
    smtpRelay: resolveRelay(raw),
    autoTags: parseAutoTags(raw.autoTags ?? AUTO_TAG_SOURCES.join(',')),
    dataDir: raw.dataDir === undefined || raw.dataDir === '' ? null : raw.dataDir,
  };
  checkConsistency(config);
  return config;
}

/** The text of `@file`, so a secret need not appear on the command line or in `ps`. */
function readSettingFile(flag: string, text: string): string {
  try {
    return readFileSync(text.slice(1), 'utf8');
  } catch (error) {
    throw new ConfigError(flag, `cannot read ${text.slice(1)}: ${(error as Error).message}`);
  }
}

/** `user:pass,user:pass`, or `@file` holding one `user:pass` per line; passwords may contain colons. */
export function parseCredentials(flag: string, text: string): ReadonlyMap<string, string> {
  const entries = text.startsWith('@') ? readSettingFile(flag, text).split(/\r?\n/) : text.split(',');
  const credentials = new Map<string, string>();
  for (const entry of entries.map((e) => e.trim()).filter((e) => e !== '' && !e.startsWith('#'))) {
    const colon = entry.indexOf(':');
    if (colon <= 0) throw new ConfigError(flag, `expected user:password, got "${entry}"`);
    credentials.set(entry.slice(0, colon), entry.slice(colon + 1));
  }
  if (credentials.size === 0) throw new ConfigError(flag, 'names no user');
  return credentials;
}

/** Every rule of every value, in order; one value may hold several (one per line, or `;`-separated). */
function parseSmtpRules(values: string | readonly string[] | undefined): SmtpRule[] {
  const texts = (typeof values === 'string' ? [values] : values ?? []).flatMap(splitRules);
  return texts.map((text) => {
    try {
      return parseRule(text);
    } catch (error) {
      if (error instanceof RuleError) throw new ConfigError('--smtp-reject', `${error.message} in "${text}"`);
      throw error;
    }
  });
}

/** `*`, or origins such as `http://localhost:3000`: scheme, host and optional port, nothing more. */
function parseOrigins(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return [];
  const origins = text.split(',').map((o) => o.trim()).filter((o) => o !== '');
  for (const origin of origins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s?#]+$/i.test(origin)) throw new ConfigError('--api-cors', `expected * or origins like http://localhost:3000, got "${origin}"`);
  }
  return origins;
}

/** A token people paste into CI settings: long enough not to be guessed, printable, no spaces. */
function parseToken(text: string): string {
  const token = text.startsWith('@') ? readSettingFile('--api-token', text).trim() : text;
  if (!/^[\x21-\x7e]{16,512}$/.test(token)) throw new ConfigError('--api-token', 'expected 16 to 512 printable characters without spaces');
  return token;
}

/** Host names as Vite's server.allowedHosts takes them: `name`, `.domain` for it and its subdomains, or `*`. */
function parseHosts(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return [];
  const hosts = text.split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
  for (const host of hosts) {
    if (host !== '*' && !/^\.?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(host)) {
      throw new ConfigError('--allowed-hosts', `expected host names such as mailroom.internal or .example.test, or *, got "${host}"`);
    }
  }
  return hosts;
}

function parseCompat(text: string): Compat {
  if (text !== 'mailpit' && text !== 'mailhog') throw new ConfigError('--compat', `expected mailpit or mailhog, got "${text}"`);
  return text;
}

function parseAutoTags(text: string): ReadonlySet<AutoTagSource> {
  const sources = new Set<AutoTagSource>();
  if (text.trim().toLowerCase() === 'none') return sources;
  for (const item of text.split(',')) {
    const source = AUTO_TAG_SOURCES.find((s) => s === item.trim().toLowerCase());
    if (source === undefined) throw new ConfigError('--auto-tags', `expected none or a comma-separated list of ${AUTO_TAG_SOURCES.join(', ')}, got "${text}"`);
    sources.add(source);
  }
  return sources;
}

/** A switch's value from its environment variable (the flag alone gives 'true'). */
function parseSwitch(flag: string, text: string): boolean {
  const value = text.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(flag, `expected true or false, got "${text}"`);
}

/** `host:port`, `[ipv6]:port`, or a host alone for port 25, as Mailpit's relay defaults. */
function parseRelayAddress(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/i.exec(text.trim());
  const host = match?.[1] ?? match?.[2];
  const hostname = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/i;
  if (host === undefined || (match?.[1] === undefined ? isIP(host) === 0 && !hostname.test(host) : isIP(host) !== 6)) {
    throw new ConfigError('--smtp-relay', `expected HOST:PORT such as smtp.example.test:587, got "${text}"`);
  }
  const port = Number(match![3] ?? '25');
  if (port < 1 || port > 65535) throw new ConfigError('--smtp-relay', `expected a port number from 1 to 65535, got "${match![3]}"`);
  return { host, port };
}

function resolveRelay(raw: RawSettings): RelaySettings | null {
  const companions: [string, string | undefined][] = [
    ['--smtp-relay-user', raw.smtpRelayUser],
    ['--smtp-relay-password', raw.smtpRelayPassword],
    ['--smtp-relay-tls', raw.smtpRelayTls],
    ['--smtp-relay-insecure', raw.smtpRelayInsecure],
    ['--smtp-relay-return-path', raw.smtpRelayReturnPath],
    ['--smtp-relay-preserve-message-ids', raw.smtpRelayPreserveMessageIds],
  ];
  if (raw.smtpRelay === undefined) {
    const stray = companions.find(([, value]) => value !== undefined);
    if (stray) throw new ConfigError(stray[0], 'needs --smtp-relay');
    return null;
  }
  const { host, port } = parseRelayAddress(raw.smtpRelay);
  const security = SMTP_SECURITY.find((s) => s === (raw.smtpRelayTls ?? 'auto').toLowerCase());
  if (security === undefined) throw new ConfigError('--smtp-relay-tls', `expected ${SMTP_SECURITY.join(', ')}, got "${raw.smtpRelayTls}"`);
  if (raw.smtpRelayUser !== undefined && raw.smtpRelayPassword === undefined) throw new ConfigError('--smtp-relay-password', 'required with --smtp-relay-user');
  if (raw.smtpRelayPassword !== undefined && raw.smtpRelayUser === undefined) throw new ConfigError('--smtp-relay-user', 'required with --smtp-relay-password');
  let auth: RelaySettings['auth'] = null;
  if (raw.smtpRelayUser !== undefined && raw.smtpRelayPassword !== undefined) {
    const given = raw.smtpRelayPassword;
    // A file's final line break is not part of the password.
    const pass = given.startsWith('@') ? readSettingFile('--smtp-relay-password', given).replace(/\r?\n$/, '') : given;
    if (pass === '') throw new ConfigError('--smtp-relay-password', 'is empty');
    auth = { user: raw.smtpRelayUser, pass };
  }
  const returnPath = raw.smtpRelayReturnPath ?? null;
  if (returnPath !== null && !/^[^\s<>()[\],;:"@]+@[^\s<>()[\],;:"@]+$/.test(returnPath)) {
    throw new ConfigError('--smtp-relay-return-path', `expected an address such as bounces@example.test, got "${returnPath}"`);
  }
  return {
    host,
    port,
    security,
    insecure: raw.smtpRelayInsecure === undefined ? false : parseSwitch('--smtp-relay-insecure', raw.smtpRelayInsecure),
    auth,
    returnPath,
    preserveMessageIds: raw.smtpRelayPreserveMessageIds === undefined ? false : parseSwitch('--smtp-relay-preserve-message-ids', raw.smtpRelayPreserveMessageIds),
  };
}

function parseLogLevel(text: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === text.toLowerCase());
  if (!level) throw new ConfigError('--log-level', `expected one of ${LOG_LEVELS.join(', ')}, got "${text}"`);
  return level;
}

function resolveTls(raw: RawSettings): TlsSetting {
  if (raw.tls !== undefined) {
    if (raw.tls !== 'self-signed') throw new ConfigError('--tls', `the only value is "self-signed", got "${raw.tls}"`);
    if (raw.tlsCert !== undefined || raw.tlsKey !== undefined) {
      throw new ConfigError('--tls', 'use either --tls self-signed or --tls-cert with --tls-key, not both');
    }
    return { selfSigned: true };
  }
  if (raw.tlsCert === undefined && raw.tlsKey === undefined) return null;
  if (raw.tlsCert === undefined) throw new ConfigError('--tls-cert', 'required when --tls-key is set');
  if (raw.tlsKey === undefined) throw new ConfigError('--tls-key', 'required when --tls-cert is set');
  return { certFile: raw.tlsCert, keyFile: raw.tlsKey };
}

/** Checks that hold between settings. */
function checkConsistency(config: MailroomConfig): void {
  for (const [flag, port] of [['--smtps-port', config.smtpsPort], ['--pop3s-port', config.pop3sPort], ['--imaps-port', config.imapsPort]] as const) {
    if (port !== null && config.tls === null) throw new ConfigError(flag, 'needs TLS: add --tls self-signed or --tls-cert and --tls-key');
  }
  if (config.maxMessageSize > config.maxStoreBytes) {
    throw new ConfigError('--max-message-size', 'must not exceed --max-store-bytes, or an accepted message could not be kept');
  }
  if (config.maxMessageSize > config.maxIngestBytes) {
    throw new ConfigError('--max-ingest-bytes', 'must be at least --max-message-size, or a message of the largest size could never be received');
  }
}

/**
 * node:util parseArgs options for every flag (plus --help and --version): a repeatable flag
 * (`multiple` in OPTIONS) collects each of its values, every other one keeps the last.
 */
export function argumentOptions(): Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> {
  const spec: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { help: { type: 'boolean' }, version: { type: 'boolean' } };
  for (const option of OPTIONS) spec[option.flag.slice(2)] = option.switch ? { type: 'boolean' } : option.multiple ? { type: 'string', multiple: true } : { type: 'string' };
  return spec;
}

/** parseArgs values, read with argumentOptions(), as settings. */
export function settingsFromArguments(values: Record<string, string | boolean | (string | boolean)[] | undefined>): RawSettings {
  const settings: RawSettings = {};
  for (const option of OPTIONS) {
    const value = values[option.flag.slice(2)];
    if (typeof value === 'string') settings[option.key] = value;
    else if (value === true && option.switch) settings[option.key] = 'true';
    else if (Array.isArray(value) && option.key === 'smtpReject') settings.smtpReject = value.map(String);
  }
  return settings;
}

/**
 * How to name a setting in a message: by its environment variable when that is where the value
 * came from (flags win), else by its flag, which is also what to add when the default is the problem.
 */
export function settingName(flag: string, fromArguments: RawSettings, fromEnv: RawSettings): string {
  const option = OPTIONS.find((o) => o.flag === flag);
  if (!option || fromArguments[option.key] !== undefined || fromEnv[option.key] === undefined) return flag;
  return option.env;
}

/** Environment variables first, so flags given on the command line override them. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): RawSettings {
  const settings: RawSettings = {};
  for (const option of OPTIONS) {
    const value = env[option.env];
    if (value !== undefined && value !== '') settings[option.key] = value;
  }
  return settings;
}

export function helpText(version: string): string {
  const usage = (o: OptionSpec): string => (o.switch ? o.flag : `${o.flag} ${o.arg}`);
  const width = Math.max(...OPTIONS.map((o) => usage(o).length));
  const lines = OPTIONS.map((o) => `  ${usage(o).padEnd(width)}  ${o.help} [${o.env}]`);
  return [
    `mailroom ${version}: catch test mail over SMTP and inspect it over HTTP`,
    '',
    'Usage: mailroom [options]',
    '',
    'Options (each also read from the environment variable in brackets; flags win):',
    ...lines,
    `  ${'--help'.padEnd(width)}  show this help`,
    `  ${'--version'.padEnd(width)}  print the version`,
    '',
    'SMTP rules (--smtp-reject, repeatable; MAILROOM_SMTP_REJECT takes one per line, or several',
    'separated by ";"), tried in order, the first that matches deciding:',
    '  [N%:]STAGE:MATCH=CODE TEXT             answer with this 4xx or 5xx reply',
    '  [N%:]delay:STAGE:MATCH=MS [CODE TEXT]  answer after MS milliseconds (at most 60000),',
    '                                         normally or with that reply',
    '  STAGE  mail (MAIL FROM), rcpt (each RCPT TO), data (end of DATA, any accepted recipient)',
    '         or size (end of DATA, the message size); a refused message is never stored',
    '  MATCH  address glob, case-insensitive: * any characters, ? one, <> the null sender;',
    '         for size >SIZE, >=SIZE or SIZE (meaning >SIZE), such as >1MB',
    '  N%     apply to N percent of the matching commands (default 100)',
    "  e.g.   --smtp-reject 'rcpt:*@bounce.test=550 No such user here'",
    "         --smtp-reject '25%:mail:*@flaky.test=451 Try again later'",
    "         --smtp-reject 'size:>1MB=552 Message too big'",
    "         --smtp-reject 'delay:rcpt:*@slow.test=5000'",
    '',
  ].join('\n');
}
