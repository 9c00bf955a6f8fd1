import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ClientCredentials } from '../client/index.js';
import { readReadyFile } from '../ready-file.js';

/** Exit statuses shared by every subcommand, as `--help` documents them. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A mistake in the command line: printed as one line, exit status 2. */
export class UsageError extends Error {}

/** node:util's parse errors, shortened to one line that names the flag. */
export function argumentError(error: Error & { code?: string }): string {
  const flag = /'(-[^' ]+)/.exec(error.message)?.[1] ?? '';
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `${flag}: unknown option (see --help)`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return `${flag}: needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']*)'/.exec(error.message)?.[1] ?? ''} (see --help)`;
    default:
      return error.message;
  }
}

type Spec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

/** Parses a subcommand's flags strictly; a mistake becomes a {@link UsageError}. */
export function readFlags<S extends Spec>(argv: string[], spec: S): Record<string, string | string[] | boolean | undefined> {
  try {
    return parseArgs({ args: argv, options: { ...spec, help: { type: 'boolean' } }, strict: true, allowPositionals: false }).values as Record<
      string,
      string | string[] | boolean | undefined
    >;
  } catch (error) {
    throw new UsageError(argumentError(error as Error));
  }
}

/** A number of seconds from a flag, as milliseconds. */
export function secondsFlag(flag: string, text: string | undefined, fallback: number, max = Infinity): number {
  if (text === undefined) return fallback * 1000;
  if (!/^\d+(\.\d+)?$/.test(text) || Number(text) > max) throw new UsageError(`${flag}: expected a number of seconds${max < Infinity ? ` up to ${max}` : ''}, got "${text}"`);
  return Math.round(Number(text) * 1000);
}

/**
 * Where Mailroom's API is: `--api`, else MAILROOM_API, else what the running
 * Mailroom wrote to MAILROOM_READY_FILE (so a container's health check follows
 * a port or address given as an argument), else the loopback address on
 * MAILROOM_HTTP_PORT, else http://127.0.0.1:8025.
 */
export function apiUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const url = flag ?? (env.MAILROOM_API || undefined);
  if (url !== undefined) {
    if (!/^https?:\/\/[^/\s]+/i.test(url)) throw new UsageError(`--api: expected an http:// or https:// URL, got "${url}"`);
    return url;
  }
  const ready = readReadyFile(env.MAILROOM_READY_FILE);
  if (ready) return ready.apiUrl;
  const port = env.MAILROOM_HTTP_PORT;
  return `http://127.0.0.1:${port && /^\d+$/.test(port) && port !== '0' ? port : '8025'}`;
}

/** Writes text and resolves once it has been handed to the system, so exiting afterwards loses nothing. */
export function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => stream.write(text, () => resolve()));
}

/** The flags every API subcommand takes for a Mailroom that needs credentials. */
export const CREDENTIAL_FLAGS = { 'api-token': { type: 'string' }, 'api-auth': { type: 'string' } } as const;

export const credentialsHelp = `  --api-token TOKEN   bearer token of a Mailroom started with --api-token, or @file [MAILROOM_API_TOKEN]
  --api-auth USER:PASS  a login of a Mailroom started with --ui-auth [MAILROOM_API_AUTH]`;

/** `--api-token` or MAILROOM_API_TOKEN (the server's own variable), `--api-auth` or MAILROOM_API_AUTH. */
export function clientCredentials(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): ClientCredentials {
  const token = (flags['api-token'] as string | undefined) ?? (env.MAILROOM_API_TOKEN || undefined);
  const login = (flags['api-auth'] as string | undefined) ?? (env.MAILROOM_API_AUTH || undefined);
  const credentials: ClientCredentials = {};
  if (token !== undefined) {
    try {
      credentials.token = token.startsWith('@') ? readFileSync(token.slice(1), 'utf8').trim() : token;
    } catch (error) {
      throw new UsageError(`--api-token: cannot read ${token.slice(1)}: ${(error as Error).message}`);
    }
  }
  if (login !== undefined) {
    const colon = login.indexOf(':');
    if (colon <= 0) throw new UsageError(`--api-auth: expected USER:PASS, got "${login}"`);
    credentials.auth = { username: login.slice(0, colon), password: login.slice(colon + 1) };
  }
  return credentials;
}
