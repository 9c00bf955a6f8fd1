import { parseArgs } from 'node:util';

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
 * Where Mailroom's API is: `--api`, else MAILROOM_API, else the loopback
 * address on MAILROOM_HTTP_PORT (so a container's health check follows its port
 * setting), else http://127.0.0.1:8025.
 */
export function apiUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const url = flag ?? (env.MAILROOM_API || undefined);
  if (url !== undefined) {
    if (!/^https?:\/\/[^/\s]+/i.test(url)) throw new UsageError(`--api: expected an http:// or https:// URL, got "${url}"`);
    return url;
  }
  const port = env.MAILROOM_HTTP_PORT;
  return `http://127.0.0.1:${port && /^\d+$/.test(port) && port !== '0' ? port : '8025'}`;
}

/** Writes text and resolves once it has been handed to the system, so exiting afterwards loses nothing. */
export function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => stream.write(text, () => resolve()));
}
