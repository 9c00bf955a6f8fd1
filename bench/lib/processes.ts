import type { ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const children = new Set<ChildProcess>();
const cleanups: (() => void)[] = [];

/** Kills the child if the benchmark exits first, however it exits short of SIGKILL. */
export function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Runs `fn` (synchronous, it runs in the 'exit' handler) when the benchmark exits. */
export function onExit(fn: () => void): void {
  cleanups.push(fn);
}

process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  for (const fn of cleanups) fn();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}, stopping servers\n`);
    process.exit(130);
  });
}

/** Resolves once the child has exited; kills it if it has not within `graceMs`. */
export async function waitForExit(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Two different loopback ports free right now, for a server that cannot report the ones it picked. */
export async function freePorts(): Promise<[number, number]> {
  const first = await freePort();
  let second = await freePort();
  while (second === first) second = await freePort();
  return [first, second];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls `ready` until it holds; fails early if the process it waits for has gone. */
export async function waitUntil(what: string, ready: () => Promise<boolean>, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`the server exited while waiting for ${what}`);
    if (await ready()) return;
    await sleep(100);
  }
  throw new Error(`no ${what} within ${timeoutMs} ms`);
}

/** Whether something on the port greets with an SMTP 220. */
export function smtpGreets(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    socket.once('data', (chunk: Buffer) => {
      socket.destroy();
      resolve(chunk.toString('latin1').startsWith('220'));
    });
    socket.once('timeout', () => socket.destroy());
    socket.once('error', () => undefined);
    socket.once('close', () => resolve(false));
  });
}

/** Whether a GET of the URL answers 2xx. */
export async function httpOk(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}
