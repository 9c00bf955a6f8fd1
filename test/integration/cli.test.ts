import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { mailroomForTest } from '../helpers/mailroom.js';
import { SmtpWire } from '../helpers/smtp-wire.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/mailroom.js', import.meta.url));

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [bin, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

interface Started {
  child: ChildProcess;
  ports: { smtp: number; http: number; pop3: number; imap: number };
}

/** Starts the CLI and reads the ports from its start-up log line. */
async function start(args: string[], env: Record<string, string> = {}): Promise<Started> {
  const child = spawn('node', [bin, '--smtp-port', '0', '--http-port', '0', '--pop3-port', '0', '--imap-port', '0', ...args], { env: { ...process.env, ...env } });
  let out = '';
  child.stdout!.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      for (const line of out.split('\n')) {
        if (!line.includes('"ports"')) continue;
        resolve({ child, ports: (JSON.parse(line) as { ports: Started['ports'] }).ports });
      }
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
}

async function exitWithin(child: ChildProcess, signal: NodeJS.Signals): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  const exited = once(child, 'exit');
  child.kill(signal);
  const [code] = (await exited) as [number | null];
  return { code, ms: Date.now() - started };
}

describe('mailroom command', () => {
  it('prints help listing every flag with its environment variable', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    for (const flag of ['--listen', '--smtp-port', '--smtps-port', '--http-port', '--max-messages', '--max-store-bytes', '--max-message-size', '--tls ', '--tls-cert', '--tls-key', '--log-level']) {
      expect(stdout).toContain(flag);
    }
    expect(stdout).toContain('[MAILROOM_SMTP_PORT]');
  });

  it('runs as `npx mailroom` from the checkout', async () => {
    // npm's own update check would ask the registry; npm starts slowly on a machine busy with other test files.
    const { stdout } = await run('npx', ['--no-install', 'mailroom', '--version'], { cwd: root, env: { ...process.env, npm_config_update_notifier: 'false' } });
    expect(stdout).toBe('0.1.0\n');
  }, 90_000);

  it.each([
    [['--smtp-port', '70000'], {}, 'mailroom: --smtp-port: expected a port number from 0 to 65535, got "70000"'],
    [['--max-store-bytes', 'lots'], {}, 'mailroom: --max-store-bytes: expected a size such as 1048576, 512KiB, 25MiB or 1GiB, got "lots"'],
    [['--max-messages', '0'], {}, 'mailroom: --max-messages: expected a whole number of at least 1, got "0"'],
    [['--listen', 'not a host!'], {}, 'mailroom: --listen: expected an IP address or host name, got "not a host!"'],
    [['--bogus'], {}, 'mailroom: --bogus: unknown option (see --help)'],
    [['--smtp-port'], {}, 'mailroom: --smtp-port: needs a value'],
    [['--smtps-port', '0'], {}, 'mailroom: --smtps-port: needs TLS: add --tls self-signed or --tls-cert and --tls-key'],
    [['--tls', 'yes'], {}, 'mailroom: --tls: the only value is "self-signed", got "yes"'],
    [['--tls-cert', 'a.pem'], {}, 'mailroom: --tls-key: required when --tls-cert is set'],
    [['--log-level', 'loud'], {}, 'mailroom: --log-level: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"'],
    [[], { MAILROOM_COMPAT: 'smtp4dev' }, 'mailroom: MAILROOM_COMPAT: expected mailpit or mailhog, got "smtp4dev"'],
    [[], { MAILROOM_HTTP_PORT: 'eighty' }, 'mailroom: MAILROOM_HTTP_PORT: expected a port number from 0 to 65535, got "eighty"'],
    [[], { MAILROOM_SMTP_PORT: 'abc' }, 'mailroom: MAILROOM_SMTP_PORT: expected a port number from 0 to 65535, got "abc"'],
    [['--smtp-port', 'xyz'], { MAILROOM_SMTP_PORT: 'abc' }, 'mailroom: --smtp-port: expected a port number from 0 to 65535, got "xyz"'],
    [[], { MAILROOM_SMTPS_PORT: '0' }, 'mailroom: MAILROOM_SMTPS_PORT: needs TLS: add --tls self-signed or --tls-cert and --tls-key'],
    [['--max-message-size', '2GiB'], {}, 'mailroom: --max-message-size: must not exceed --max-store-bytes, or an accepted message could not be kept'],
  ])('exits with status 2 and one line for %j %j', async (args, env, message) => {
    const result = await cli(args as string[], env as Record<string, string>);
    expect(result).toStrictEqual({ code: 2, stdout: '', stderr: `${message}\n` });
  });

  it('exits with status 1 and one line when a port is taken', async () => {
    const other = await mailroomForTest();
    const result = await cli(['--smtp-port', String(other.ports.smtp), '--http-port', '0', '--pop3-port', '0', '--imap-port', '0']);
    expect(result).toStrictEqual({ code: 1, stdout: '', stderr: `mailroom: --smtp-port: port ${other.ports.smtp} on 127.0.0.1 is already in use\n` });
    const fromEnv = await cli(['--smtp-port', '0', '--pop3-port', '0', '--imap-port', '0'], { MAILROOM_HTTP_PORT: String(other.ports.http) });
    expect(fromEnv).toStrictEqual({ code: 1, stdout: '', stderr: `mailroom: MAILROOM_HTTP_PORT: port ${other.ports.http} on 127.0.0.1 is already in use\n` });
  });

  it('takes settings from the environment, flags winning, and reports picked ports', async () => {
    const { child, ports } = await start(['--max-messages', '7', '--smtp-reject', 'rcpt:*@a.test=550 No A', '--smtp-reject', 'mail:x@b.test=451 Later'], {
      MAILROOM_MAX_MESSAGES: '5',
      MAILROOM_MAX_STORE_BYTES: '1MiB',
      MAILROOM_MAX_MESSAGE_SIZE: '1KiB',
    });
    // --smtp-reject may be given more than once; every rule is kept.
    const rules = (await (await fetch(`http://127.0.0.1:${ports.http}/api/smtp/rules`)).json()) as { rules: { match: string }[] };
    expect(rules.rules.map((r) => r.match)).toStrictEqual(['*@a.test', 'x@b.test']);
    const info = (await (await fetch(`http://127.0.0.1:${ports.http}/api/info`)).json()) as { ports: object; limits: object };
    expect(Object.keys(info.ports).sort()).toStrictEqual(['http', 'imap', 'pop3', 'smtp']);
    expect(info.ports).toMatchObject({ smtp: ports.smtp, http: ports.http });
    expect(info.limits).toStrictEqual({ maxMessages: 7, maxStoreBytes: 1024 * 1024 });
    const wire = await SmtpWire.open(ports.smtp);
    await wire.reply();
    const greeting = (await wire.command('EHLO x')).text;
    wire.close();
    expect(greeting).toContain('250 SIZE 1024');
    expect(await exitWithin(child, 'SIGINT')).toMatchObject({ code: 0 });
  });

  it('exits within 2 s on SIGTERM even with open connections and a pending wait', async () => {
    const { child, ports } = await start([]);
    const smtp = connect(ports.smtp, '127.0.0.1');
    smtp.on('error', () => undefined);
    const pending = fetch(`http://127.0.0.1:${ports.http}/api/messages/wait?timeout=60`).catch(() => 'closed');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const { code, ms } = await exitWithin(child, 'SIGTERM');
    expect(code).toBe(0);
    expect(ms).toBeLessThan(2000);
    smtp.destroy();
    await pending;
  });
});
