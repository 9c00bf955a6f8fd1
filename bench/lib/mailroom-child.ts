import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ChildRequest } from './child-protocol.js';
import { track, waitForExit } from './processes.js';

type Reply<T extends ChildRequest['cmd']> = Extract<ChildMessage, { type: T }>;

/** The parent's handle on Mailroom running in bench/lib/server-child.ts. */
export class MailroomChild {
  private nextId = 1;
  private readonly waiting = new Map<number, (message: ChildMessage) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly smtpPort: number,
    readonly apiUrl: string,
    readonly pop3Port: number,
  ) {
    child.on('message', (message: ChildMessage) => {
      if (message.type !== 'gc' && message.type !== 'cpu') return;
      this.waiting.get(message.id)?.(message);
      this.waiting.delete(message.id);
    });
  }

  /**
   * `nodeOptions` go to the child's Node as well, for instance --cpu-prof to profile Mailroom alone;
   * with `dataDir` Mailroom keeps its messages there, in memory only without.
   */
  static start(timeoutMs: number, nodeOptions: readonly string[] = [], dataDir?: string): Promise<MailroomChild> {
    const args = dataDir === undefined ? [] : ['--data-dir', dataDir];
    const child = fork(fileURLToPath(new URL('./server-child.js', import.meta.url)), args, {
      execArgv: ['--expose-gc', ...nodeOptions],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    track(child);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(`Mailroom did not start within ${timeoutMs} ms`), timeoutMs);
      const fail = (reason: string): void => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(reason));
      };
      const onExit = (code: number | null, signal: string | null): void => {
        fail(`Mailroom child exited during start-up (${signal ?? `code ${code}`})`);
      };
      child.once('exit', onExit);
      child.on('message', (message: ChildMessage) => {
        if (message.type === 'failed') fail(`Mailroom did not start: ${message.message}`);
        if (message.type !== 'ready') return;
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(new MailroomChild(child, message.ports.smtp, message.apiUrl, message.ports.pop3));
      });
    });
  }

  /** The child's memory after full garbage collections. */
  async memoryAfterGc(): Promise<NodeJS.MemoryUsage> {
    return (await this.request('gc')).memory;
  }

  /** The child's CPU time so far, user plus system, in milliseconds. */
  async cpuMs(): Promise<number> {
    const { cpu } = await this.request('cpu');
    return (cpu.user + cpu.system) / 1000;
  }

  async deleteAll(): Promise<void> {
    const response = await fetch(`${this.apiUrl}/api/messages`, { method: 'DELETE' });
    if (!response.ok) throw new Error(`DELETE /api/messages: HTTP ${response.status}`);
  }

  async info(): Promise<{ messages: number; storeBytes: number }> {
    const response = await fetch(`${this.apiUrl}/api/info`);
    if (!response.ok) throw new Error(`GET /api/info: HTTP ${response.status}`);
    return (await response.json()) as { messages: number; storeBytes: number };
  }

  /** Disconnecting tells the child to close Mailroom and exit. */
  async stop(): Promise<void> {
    if (this.child.connected) this.child.disconnect();
    await waitForExit(this.child, 3000);
  }

  private request<T extends ChildRequest['cmd']>(cmd: T): Promise<Reply<T>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onExit = (): void => reject(new Error(`Mailroom child exited while answering ${cmd}`));
      this.child.once('exit', onExit);
      this.waiting.set(id, (message) => {
        this.child.off('exit', onExit);
        resolve(message as Reply<T>);
      });
      this.child.send({ id, cmd } satisfies ChildRequest);
    });
  }
}
