import { parseArgs } from 'node:util';
import { ConfigError, OPTIONS, helpText, resolveConfig, settingsFromEnv, type RawSettings } from './config.js';
import { createLogger } from './logger.js';
import { version } from './paths.js';

/** How long a shutdown may take before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 1800;

function fail(message: string, status: number): never {
  process.stderr.write(`mailroom: ${message}\n`);
  process.exit(status);
}

/** node:util's parse errors, shortened to one line that names the flag. */
function argumentError(error: Error & { code?: string }): string {
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

function readArguments(argv: string[]): { settings: RawSettings; help: boolean; version: boolean } {
  const spec: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' }, version: { type: 'boolean' } };
  for (const option of OPTIONS) spec[option.flag.slice(2)] = { type: 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: spec, strict: true, allowPositionals: false }));
  } catch (error) {
    fail(argumentError(error as Error), 2);
  }
  const settings: RawSettings = {};
  for (const option of OPTIONS) {
    const value = values[option.flag.slice(2)];
    if (typeof value === 'string') settings[option.key] = value;
  }
  return { settings, help: values.help === true, version: values.version === true };
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const args = readArguments(argv);
  if (args.help) {
    process.stdout.write(helpText(version));
    return;
  }
  if (args.version) {
    process.stdout.write(`${version}\n`);
    return;
  }
  let config;
  try {
    config = resolveConfig({ ...settingsFromEnv(env), ...args.settings });
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message, 2);
    throw error;
  }
  const logger = createLogger(config.logLevel);
  let mailroom;
  try {
    // Loaded here so that --help and bad flags answer without loading the servers.
    const { startWithConfig } = await import('./mailroom.js');
    mailroom = await startWithConfig(config, logger);
  } catch (error) {
    fail((error as Error).message, error instanceof ConfigError ? 2 : 1);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: shutting down`);
    setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS).unref();
    mailroom.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
