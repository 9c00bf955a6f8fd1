import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, onTestFinished, TestRunner } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/mailroom.js', import.meta.url));

export interface ChildMailroom {
  pid: number;
  ports: { smtp: number; http: number; pop3: number; imap: number; pop2?: number };
  apiUrl: string;
  /** Resident set size of the process now, from /proc, in bytes. */
  rss(): number;
  /** Whether the process is still running. */
  alive(): boolean;
  /** Log lines (pino JSON) written so far. */
  log: string[];
  stop(): Promise<void>;
}

export interface ChildLimits {
  /** Largest file the process may write (RLIMIT_FSIZE, in KiB): a disk that fills up, without a disk. */
  fileSizeKiB?: number;
}

/**
 * Mailroom as users run it, `node bin/mailroom.js` in a process of its own,
 * for tests that measure its memory or must survive its crash. Free ports
 * unless `args` name others; stopped when the test that started it finishes,
 * or after the file when started outside a test.
 */
export async function startChildMailroom(args: readonly string[] = [], timeoutMs = 15_000, limits: ChildLimits = {}): Promise<ChildMailroom> {
  const argv = [bin, '--smtp-port', '0', '--http-port', '0', '--pop3-port', '0', '--imap-port', '0', '--log-level', 'info', ...args];
  // The shell sets the limit, then becomes Node, so the pid is Mailroom's own.
  const child =
    limits.fileSizeKiB === undefined
      ? spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('bash', ['-c', `ulimit -f ${limits.fileSizeKiB} && exec "$0" "$@"`, process.execPath, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  const stop = (): Promise<void> => stopChild(child);
  // An afterAll registered inside a test never runs, which would leave the process behind.
  if (TestRunner.getCurrentTest()) onTestFinished(stop);
  else afterAll(stop);
  const ports = await new Promise<ChildMailroom['ports']>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => fail(new Error(`Mailroom did not start within ${timeoutMs} ms:\n${log.join('\n')}`)), timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.once('exit', (code, signal) => fail(new Error(`Mailroom exited during start-up (${signal ?? `code ${code}`}):\n${log.join('\n')}`)));
    child.stderr!.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let eol: number;
      while ((eol = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, eol);
        buffered = buffered.slice(eol + 1);
        log.push(line);
        const entry = JSON.parse(line) as { ports?: ChildMailroom['ports'] };
        if (entry.ports) {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          resolve(entry.ports);
        }
      }
    });
  });
  return {
    pid: child.pid!,
    ports,
    apiUrl: `http://127.0.0.1:${ports.http}`,
    rss: () => rssOf(child.pid!),
    alive: () => child.exitCode === null && child.signalCode === null,
    log,
    stop,
  };
}

/** VmRSS of a process, in bytes. */
export function rssOf(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}
