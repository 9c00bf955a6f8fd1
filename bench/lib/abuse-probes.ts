import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ImapBenchSession } from './imap-session.js';
import type { BenchMessage } from './messages.js';
import { SmtpSender } from './smtp-send.js';

/*
 * The well-behaved client of bench/abuse.ts: while the attackers hold their
 * connections, it keeps doing what an app and a developer do and times it.
 * Each probe loops until the deadline, one operation at a time with a short
 * pause between, and keeps every latency and every failure.
 */

export interface Samples {
  /** Milliseconds, one per completed operation. */
  ms: number[];
  failures: number;
  firstFailure: string | null;
}

const PAUSE_MS = 20;
const TIMEOUT_MS = 10_000;

function failed(samples: Samples, error: unknown): void {
  samples.failures += 1;
  samples.firstFailure ??= error instanceof Error ? error.message : String(error);
}

/**
 * SMTP as an app sends: connect, EHLO, MAIL, RCPT, DATA, the message, 250,
 * QUIT. Times connect-to-250, and MAIL-to-250 apart: smtp-server holds its
 * greeting back 100 ms on every connection to catch clients that talk too
 * early, so connect-to-250 can never be under that.
 */
export async function smtpProbe(port: number, messages: readonly BenchMessage[], until: number): Promise<{ connectTo250: Samples; mailTo250: Samples; connectToEhlo: Samples }> {
  const connectTo250: Samples = { ms: [], failures: 0, firstFailure: null };
  const mailTo250: Samples = { ms: [], failures: 0, firstFailure: null };
  const connectToEhlo: Samples = { ms: [], failures: 0, firstFailure: null };
  for (let i = 0; performance.now() < until; i++) {
    const started = performance.now();
    try {
      const sender = await SmtpSender.connect('127.0.0.1', port, TIMEOUT_MS);
      const mailAt = performance.now();
      const sent = await sender.send(messages[i % messages.length]!);
      connectTo250.ms.push(sent.queuedAt - started);
      mailTo250.ms.push(sent.queuedAt - mailAt);
      connectToEhlo.ms.push(mailAt - started);
      await sender.close();
    } catch (error) {
      failed(connectTo250, error);
    }
    await sleep(PAUSE_MS);
  }
  return { connectTo250, mailTo250, connectToEhlo };
}

/** One IMAP session, logged in with INBOX open, timing FETCH of a message's flags and whole body. */
export async function imapProbe(port: number, until: number): Promise<Samples> {
  const samples: Samples = { ms: [], failures: 0, firstFailure: null };
  let session: ImapBenchSession;
  try {
    session = await ImapBenchSession.open(port, 'probe', 'probe', () => 0, TIMEOUT_MS);
  } catch (error) {
    failed(samples, error);
    return samples;
  }
  for (let i = 0; performance.now() < until; i++) {
    try {
      const { ms } = await session.run(`FETCH ${1 + (i % 100)} (FLAGS UID BODY.PEEK[])`);
      samples.ms.push(ms);
    } catch (error) {
      failed(samples, error);
      break;
    }
    await sleep(PAUSE_MS);
  }
  await session.logout().catch(() => undefined);
  return samples;
}

/** GET /api/messages (the first page, 50 summaries), as the web inbox asks for it. */
export async function httpProbe(apiUrl: string, until: number): Promise<Samples> {
  const samples: Samples = { ms: [], failures: 0, firstFailure: null };
  while (performance.now() < until) {
    const started = performance.now();
    try {
      const response = await fetch(`${apiUrl}/api/messages`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`GET /api/messages answered ${response.status}`);
      samples.ms.push(performance.now() - started);
    } catch (error) {
      failed(samples, error);
    }
    await sleep(PAUSE_MS);
  }
  return samples;
}
