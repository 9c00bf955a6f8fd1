import { parseArgs } from 'node:util';
import { argumentError, EXIT, UsageError, write } from './commands/args.js';
import { ConfigError, SettingError, StartError, argumentOptions, helpText, resolveConfig, settingName, settingsFromArguments, settingsFromEnv, type RawSettings } from './config.js';
import { createLogger } from './logger.js';
import { version } from './paths.js';
import { removeReadyFile, writeReadyFile } from './ready-file.js';

/** How long a shutdown may take before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 1800;

function fail(message: string, status: number): never {
  process.stderr.write(`mailroom: ${message}\n`);
  process.exit(status);
}

function readArguments(argv: string[]): { settings: RawSettings; help: boolean; version: boolean } {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: argumentOptions(), strict: true, allowPositionals: false }));
  } catch (error) {
    fail(argumentError(error as Error), 2);
  }
  return { settings: settingsFromArguments(values), help: values.help === true, version: values.version === true };
}

/** Subcommands, each loaded only when used; without one, mailroom runs the server. */
const COMMANDS: Record<string, () => Promise<(argv: string[], env: NodeJS.ProcessEnv) => Promise<number>>> = {
  wait: async () => (await import('./commands/wait.js')).waitCommand,
  healthcheck: async () => (await import('./commands/healthcheck.js')).healthcheckCommand,
  send: async () => (await import('./commands/send.js')).sendCommand,
};

const COMMANDS_HELP = `Commands (each has its own --help):
  mailroom wait [--to ADDR] [--subject TEXT] [--timeout SECONDS] [--api URL]
      wait for a matching message and print it as JSON
  mailroom healthcheck [--api URL] [--wait SECONDS]
      exit 0 when Mailroom is ready (for Docker HEALTHCHECK and CI service checks)
  mailroom send [--smtp HOST:PORT] [--to ADDR] [--subject TEXT] [--body TEXT] [--attach FILE]
      send a test message, like swaks
  --api defaults to MAILROOM_API, else the address in MAILROOM_READY_FILE, else http://127.0.0.1:8025.

Exit status: 0 success; 1 failure (server could not start, wait timed out, not ready,
message refused); 2 bad usage.
`;

async function runCommand(name: string, argv: string[], env: NodeJS.ProcessEnv): Promise<never> {
  let status: number;
  try {
    status = await (await COMMANDS[name]!())(argv, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    await write(process.stderr, `mailroom ${name}: ${error.message}\n`);
    status = EXIT.usage;
  }
  // Exits at once: an idle keep-alive connection must not hold a health check open.
  process.exit(status);
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const command = argv[0];
  if (command !== undefined && Object.hasOwn(COMMANDS, command)) return runCommand(command, argv.slice(1), env);
  const args = readArguments(argv);
  if (args.help) {
    process.stdout.write(`${helpText(version)}\n${COMMANDS_HELP}`);
    return;
  }
  if (args.version) {
    process.stdout.write(`${version}\n`);
    return;
  }
  const fromEnv = settingsFromEnv(env);
  // One line naming what the user typed: the flag, or the environment variable the value came from.
  const settingFailure: (error: unknown) => never = (error) => {
    if (!(error instanceof SettingError)) throw error;
    fail(`${settingName(error.flag, args.settings, fromEnv)}: ${error.detail}`, error instanceof ConfigError ? 2 : 1);
  };
  let config;
  try {
    config = resolveConfig({ ...fromEnv, ...args.settings });
  } catch (error) {
    settingFailure(error);
  }
  const logger = createLogger(config.logLevel);
  let mailroom;
  try {
    // Loaded here so that --help and bad flags answer without loading the servers.
    const { startWithConfig } = await import('./mailroom.js');
    mailroom = await startWithConfig(config, logger);
  } catch (error) {
    if (error instanceof SettingError) settingFailure(error);
    fail((error as Error).message, 1);
  }
  const { readyFile } = config;
  if (readyFile !== null) {
    try {
      writeReadyFile(readyFile, { pid: process.pid, apiUrl: mailroom.apiUrl, host: mailroom.host, ports: { ...mailroom.ports } });
    } catch (error) {
      settingFailure(new StartError('--ready-file', `cannot write ${readyFile}: ${(error as Error).message}`));
    }
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    // First, so a health check sees the shutdown at once rather than a server that stops answering.
    if (readyFile !== null) removeReadyFile(readyFile);
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
