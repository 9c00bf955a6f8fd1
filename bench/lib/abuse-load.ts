import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { BinPorts } from './bin-child.js';

/*
 * The attackers of bench/abuse.ts: idle connections, clients that pipeline
 * commands with large answers and never read them, and slow-drip SMTP
 * clients. Each keeps its socket until stop(); none of them reads more than
 * it must to get going.
 */

export type Protocol = 'smtp' | 'pop3' | 'imap' | 'http';

/** Opens a TCP connection from `localAddress` (127.0.0.2, ...: loopback aliases, so that the per-address cap is not what refuses). */
export function open(port: number, localAddress: string, timeoutMs = 10_000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no connection to port ${port} from ${localAddress} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Resolves with the first data the server sends (its greeting), or rejects after `timeoutMs` or on close. */
export function firstData(socket: Socket, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no greeting within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer): void => done(null, chunk.toString('latin1'));
    const onClose = (): void => done(new Error('closed before the greeting'));
    const done = (error: Error | null, text = ''): void => {
      clearTimeout(timer);
      socket.off('data', onData).off('close', onClose);
      if (error) reject(error);
      else resolve(text);
    };
    socket.on('data', onData).on('close', onClose);
  });
}

export interface IdleResult {
  /** Connections open and greeted (HTTP: open), by protocol. */
  open: Record<Protocol, number>;
  /** Refused or failed, with the first reason seen. */
  failed: number;
  firstFailure: string | null;
  sockets: Socket[];
}

/**
 * Opens `perProtocol` connections to each protocol, spread over `addresses`,
 * and leaves them idle: greeted (SMTP, POP3, IMAP) or simply open (HTTP).
 * A refusal (the protocol's error instead of a greeting) counts as failed.
 */
export async function openIdle(ports: BinPorts, perProtocol: number, addresses: readonly string[]): Promise<IdleResult> {
  const result: IdleResult = { open: { smtp: 0, pop3: 0, imap: 0, http: 0 }, failed: 0, firstFailure: null, sockets: [] };
  const refused: Record<Protocol, RegExp> = { smtp: /^421/, pop3: /^-ERR/, imap: /^\* BYE/, http: /^HTTP\/1\.1 503/ };
  const one = async (protocol: Protocol, i: number): Promise<void> => {
    try {
      const socket = await open(ports[protocol], addresses[i % addresses.length]!);
      result.sockets.push(socket);
      if (protocol !== 'http') {
        const greeting = await firstData(socket, 15_000);
        if (refused[protocol].test(greeting)) throw new Error(`${protocol} refused: ${greeting.trim()}`);
      }
      // Idle from here on: whatever else arrives is read and dropped.
      socket.on('data', () => undefined);
      result.open[protocol] += 1;
    } catch (error) {
      result.failed += 1;
      result.firstFailure ??= error instanceof Error ? error.message : String(error);
    }
  };
  const protocols: Protocol[] = ['smtp', 'pop3', 'imap', 'http'];
  // A few dozen at a time, so that the listen backlogs are not what is measured.
  const jobs = protocols.flatMap((protocol) => Array.from({ length: perProtocol }, (_, i) => () => one(protocol, i)));
  let next = 0;
  await Promise.all(Array.from({ length: 50 }, async () => {
    while (next < jobs.length) await jobs[next++]!();
  }));
  return result;
}

export interface Pipeliner {
  protocol: Protocol;
  socket: Socket;
  /** Bytes of commands written (all at once; the kernel and the server take what they will). */
  bytes: number;
}

/**
 * A client that logs in where it must, writes `count` commands whose answers
 * are large, and never reads: IMAP `FETCH 1:* BODY[]`, POP3 `RETR <big>`,
 * HTTP `GET /api/messages/<big>/raw`.
 */
export async function openPipeliner(protocol: Exclude<Protocol, 'smtp'>, ports: BinPorts, localAddress: string, n: number, target: { bigNumber: number; bigId: string }, count: number): Promise<Pipeliner> {
  const socket = await open(ports[protocol], localAddress);
  socket.pause();
  let text: string;
  switch (protocol) {
    case 'imap':
      text = `a LOGIN pipeliner${n} x\r\nb SELECT INBOX\r\n${Array.from({ length: count }, (_, i) => `f${i} FETCH 1:* BODY[]\r\n`).join('')}`;
      break;
    case 'pop3':
      text = `USER pipeliner${n}\r\nPASS x\r\n${`RETR ${target.bigNumber}\r\n`.repeat(count)}`;
      break;
    case 'http':
      text = `GET /api/messages/${target.bigId}/raw HTTP/1.1\r\nHost: 127.0.0.1:${ports.http}\r\n\r\n`.repeat(count);
      break;
  }
  socket.write(text);
  return { protocol, socket, bytes: Buffer.byteLength(text) };
}

export interface Dripper {
  label: string;
  socket: Socket;
  /** Bytes dripped so far. */
  dripped: number;
  /** performance.now() when the server closed the connection, or null while it is open. */
  closedAt: number | null;
  /** What the server last said. */
  lastReply: string;
  stop(): void;
}

/**
 * An SMTP client that sends one byte every `everyMs`: in the middle of a
 * command line (`mid-command`), or after DATA's 354, inside the message
 * (`mid-DATA`). README: SMTP deadlines a trickle cannot extend close it
 * after --smtp-timeout (command line) or --smtp-data-timeout (message).
 */
export async function openDripper(mode: 'mid-command' | 'mid-DATA', port: number, localAddress: string, everyMs: number): Promise<Dripper> {
  const socket = await open(port, localAddress);
  const dripper: Dripper = { label: `SMTP ${mode}`, socket, dripped: 0, closedAt: null, lastReply: '', stop: () => undefined };
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
    const lines = received.split('\r\n').filter(Boolean);
    dripper.lastReply = lines[lines.length - 1] ?? '';
  });
  socket.on('close', () => (dripper.closedAt ??= performance.now()));
  await firstData(socket, 15_000).catch(() => '');
  const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  socket.write('EHLO drip.bench.test\r\n');
  await wait(200);
  let payload: string;
  if (mode === 'mid-DATA') {
    socket.write('MAIL FROM:<drip@bench.test>\r\nRCPT TO:<drip@bench.test>\r\nDATA\r\n');
    await wait(200);
    payload = `Subject: slow\r\n\r\n${'x'.repeat(100_000)}`;
  } else {
    payload = `MAIL FROM:<${'d'.repeat(100_000)}@bench.test>`;
  }
  let at = 0;
  const timer = setInterval(() => {
    if (dripper.closedAt !== null || at >= payload.length) return;
    socket.write(payload[at++]!);
    dripper.dripped += 1;
  }, everyMs);
  dripper.stop = () => {
    clearInterval(timer);
    socket.destroy();
  };
  return dripper;
}
