import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { processCpuMs } from './cpu-time.js';
import { freePorts, httpOk, track, waitForExit, waitUntil } from './processes.js';

/** Ports of a Mailroom started by BinMailroom. */
export interface BinPorts {
  smtp: number;
  http: number;
  pop3: number;
  imap: number;
}

/**
 * Mailroom as users run it, `node bin/mailroom.js` with command-line flags,
 * in a process of its own (so its RSS and CPU time are its own, read from
 * /proc). Ports are picked free beforehand; logs at warn and above are kept.
 */
export class BinMailroom {
  /** Log lines (pino JSON) at warn and above, and anything on stderr. */
  readonly log: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly ports: BinPorts,
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.ports.http}`;
  }

  static async start(flags: readonly string[], timeoutMs: number): Promise<BinMailroom> {
    const [smtp, http] = await freePorts();
    let [pop3, imap] = await freePorts();
    while ([smtp, http].includes(pop3!) || [smtp, http].includes(imap!)) [pop3, imap] = await freePorts();
    const ports = { smtp: smtp!, http: http!, pop3: pop3!, imap: imap! };
    const bin = fileURLToPath(new URL('../../../bin/mailroom.js', import.meta.url));
    const child = spawn(
      process.execPath,
      [bin, '--smtp-port', String(ports.smtp), '--http-port', String(ports.http), '--pop3-port', String(ports.pop3), '--imap-port', String(ports.imap), '--log-level', 'warn', ...flags],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    track(child);
    const server = new BinMailroom(child, ports);
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '' && server.log.length < 10_000) server.log.push(line);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
    try {
      await waitUntil('GET /api/health to answer 200', () => httpOk(`${server.apiUrl}/api/health`), timeoutMs, () => !exited());
    } catch (error) {
      child.kill('SIGKILL');
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${server.log.slice(-5).join('\n')}`);
    }
    return server;
  }

  alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resident set size now, in bytes (VmRSS); 0 once the process is gone. */
  rssBytes(): number {
    try {
      const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return match ? Number(match[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  }

  /** CPU time so far, user plus system, in milliseconds. */
  cpuMs(): number {
    return processCpuMs(this.pid);
  }

  async stop(): Promise<void> {
    if (!this.alive()) return;
    this.child.kill('SIGTERM');
    await waitForExit(this.child, 3000);
  }
}
