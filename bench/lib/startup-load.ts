import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track, waitForExit } from './processes.js';

export interface StartupFigures {
  /** openMaildir: the journal replayed and every message file read. */
  openMs: number;
  /** new MessageStore: each message parsed into the store's summary. */
  storeMs: number;
  /** What the store holds once loaded. */
  messages: number;
  bytes: number;
  /** The loading process's resident memory with everything loaded. */
  rss: number;
}

export type StartupMessage = ({ type: 'loaded' } & StartupFigures) | { type: 'failed'; message: string };

/** Loads `dir` as Mailroom's start does, in bench/lib/startup-child.ts, and reports how long that took. */
export async function timeStartup(dir: string, timeoutMs: number): Promise<StartupFigures> {
  const child = fork(fileURLToPath(new URL('./startup-child.js', import.meta.url)), [dir], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  track(child);
  try {
    return await new Promise<StartupFigures>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`loading ${dir} took more than ${timeoutMs} ms`)), timeoutMs);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the start-up child exited before reporting (${signal ?? `code ${code}`})`));
      });
      child.on('message', (message: StartupMessage) => {
        clearTimeout(timer);
        if (message.type === 'failed') reject(new Error(`loading ${dir} failed: ${message.message}`));
        else {
          const { type: _, ...figures } = message;
          resolve(figures);
        }
      });
    });
  } finally {
    if (child.connected) child.disconnect();
    await waitForExit(child, 3000);
  }
}
