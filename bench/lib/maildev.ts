import { execFile, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processCpuMs } from './cpu-time.js';
import { freePorts, httpOk, onExit, smtpGreets, track, waitForExit, waitUntil } from './processes.js';

export const MAILDEV_VERSION = '3.0.0';
const CACHE_DIR = fileURLToPath(new URL('../../../bench/.cache/maildev/', import.meta.url));
const INSTALL_TIMEOUT_MS = 5 * 60_000;

/** Path of MailDev's CLI script, installing MailDev into the cache first if needed. */
export async function ensureMaildev(): Promise<{ bin: string } | { error: string }> {
  const manifest = join(CACHE_DIR, 'node_modules', 'maildev', 'package.json');
  if (!installed(manifest)) {
    const args = ['install', '--prefix', CACHE_DIR, `maildev@${MAILDEV_VERSION}`, '--no-audit', '--no-fund', '--loglevel', 'error'];
    const failure = await new Promise<string | null>((resolve) => {
      execFile('npm', args, { timeout: INSTALL_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => {
        // npm puts the error code and its message first; a stack trace and log hints follow.
        const lines = stderr.split('\n').map((line) => line.replace(/^npm (error|ERR!) ?/, '').trim()).filter(Boolean);
        resolve(error ? lines.slice(0, 4).join('; ') || error.message : null);
      });
    });
    if (failure !== null) return { error: `npm install maildev@${MAILDEV_VERSION} failed: ${failure}` };
    if (!installed(manifest)) return { error: `npm install did not leave maildev@${MAILDEV_VERSION} in ${CACHE_DIR}` };
  }
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: { maildev: string } };
  return { bin: join(CACHE_DIR, 'node_modules', 'maildev', bin.maildev) };
}

function installed(manifest: string): boolean {
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: unknown }).version === MAILDEV_VERSION;
  } catch {
    // Missing or half-written by an interrupted install: install again.
    return false;
  }
}

/** MailDev's CLI on loopback ports, with its mail files in a fresh temporary folder. */
export class Maildev {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly smtpPort: number,
    readonly webUrl: string,
  ) {}

  static async start(bin: string, timeoutMs: number): Promise<Maildev> {
    const dir = mkdtempSync(join(tmpdir(), 'mailroom-bench-maildev-'));
    onExit(() => rmSync(dir, { recursive: true, force: true }));
    const [smtpPort, webPort] = await freePorts();
    // MailDev keeps its messages in memory by default but still writes each one to
    // $TMPDIR/maildev; TMPDIR points that at the fresh folder. Its own MAILDEV_*
    // variables are dropped, and the working folder holds no MailDev config file,
    // so only the flags below apply.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('MAILDEV_')));
    const child = fork(bin, ['--smtp', String(smtpPort), '--web', String(webPort), '--ip', '127.0.0.1', '--web-ip', '127.0.0.1', '--silent'], {
      cwd: dir,
      env: { ...env, TMPDIR: dir },
      execArgv: ['--import', new URL('./exit-with-parent.js', import.meta.url).href],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    track(child);
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-2000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const webUrl = `http://127.0.0.1:${webPort}`;
    const alive = (): boolean => child.exitCode === null && child.signalCode === null;
    try {
      // MailDev opens SMTP before its web server, and the live client needs both.
      await waitUntil('SMTP greeting', () => smtpGreets('127.0.0.1', smtpPort), timeoutMs, alive);
      await waitUntil('web API', () => httpOk(`${webUrl}/api/healthz`), timeoutMs, alive);
    } catch (error) {
      child.kill('SIGKILL');
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`MailDev did not start: ${reason}${output.trim() ? `; its output: ${output.trim()}` : ''}`);
    }
    return new Maildev(child, dir, smtpPort, webUrl);
  }

  /** CPU time so far, user plus system, in milliseconds; read from /proc, as MailDev cannot be asked. */
  cpuMs(): number {
    return processCpuMs(this.child.pid!);
  }

  async deleteAll(): Promise<void> {
    const response = await fetch(`${this.webUrl}/api/email/all`, { method: 'DELETE' });
    if (!response.ok) throw new Error(`MailDev DELETE /api/email/all: HTTP ${response.status}`);
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await waitForExit(this.child, 3000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
