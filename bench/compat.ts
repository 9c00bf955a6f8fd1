import { Agent, request } from 'node:http';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { MailroomChild } from './lib/mailroom-child.js';
import { makeMessages, type BenchMessage } from './lib/messages.js';
import { countOption } from './lib/options.js';
import { table } from './lib/report.js';
import { SmtpSender } from './lib/smtp-send.js';
import { formatInt, formatMs, percentile } from './lib/stats.js';

/*
 * npm run bench:compat [-- --messages N --rounds N --connections N --smoke]
 * (or BENCH_COMPAT_MESSAGES, BENCH_COMPAT_ROUNDS, BENCH_COMPAT_CONNECTIONS)
 *
 * Mailroom runs in a child process with N messages of ~4 KB captured over
 * SMTP. For each operation (a page of 50, one message, a subject search, a
 * free-text search) the native route and the Mailpit and MailHog routes it
 * maps onto are asked in turn, round after round over one keep-alive
 * connection, so that each sees the same machine. The first round (caches
 * cold) is reported apart; the figures are medians and p95 of the rest, and
 * each compat route's median over the native one's. Target: no compat route
 * over 1.2x its native route. --smoke has 300 messages and a few rounds and
 * judges no target, for test/integration/bench-smoke.test.ts.
 */

const MESSAGE_SIZE = 4096;
const START_TIMEOUT_MS = 30_000;
const REPLY_TIMEOUT_MS = 30_000;
const TARGET_RATIO = 1.2;

interface Settings {
  messages: number;
  rounds: number;
  connections: number;
  smoke: boolean;
}

function readSettings(): Settings {
  const { values } = parseArgs({
    options: { messages: { type: 'string' }, rounds: { type: 'string' }, connections: { type: 'string' }, smoke: { type: 'boolean', default: false } },
  });
  const env = process.env;
  const smoke = values.smoke;
  return {
    messages: countOption('messages', values.messages ?? env.BENCH_COMPAT_MESSAGES, smoke ? 300 : 10_000, 100, 100_000),
    rounds: countOption('rounds', values.rounds ?? env.BENCH_COMPAT_ROUNDS, smoke ? 5 : 100, 2, 100_000),
    connections: countOption('connections', values.connections ?? env.BENCH_COMPAT_CONNECTIONS, 4, 1, 64),
    smoke,
  };
}

/** The same question asked of the native API, Mailpit's and MailHog's; null where MailHog has no way to ask it. */
interface Operation {
  name: string;
  native: string;
  mailpit: string;
  mailhog: string | null;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** One GET, read to its end; its time in ms. A status other than 200 stops the run: a broken route is no figure. */
function timedGet(base: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(`${base}${path}`, { agent, timeout: REPLY_TIMEOUT_MS }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`GET ${path}: ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in ${REPLY_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

async function load(mailroom: MailroomChild, messages: readonly BenchMessage[], connections: number): Promise<string[]> {
  const ids: string[] = new Array<string>(messages.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const sender = await SmtpSender.connect('127.0.0.1', mailroom.smtpPort, REPLY_TIMEOUT_MS);
      for (let i = next++; i < messages.length; i = next++) ids[i] = (await sender.send(messages[i]!, true)).id;
      await sender.close();
    }),
  );
  return ids;
}

const median = (samples: number[]): number => percentile(samples, 50);
const ratio = (value: number, base: number): string => `${(value / base).toFixed(2)}x`;

async function main(): Promise<void> {
  const settings = readSettings();
  const mailroom = await MailroomChild.start(START_TIMEOUT_MS);
  try {
    const messages = makeMessages('compat', settings.messages, MESSAGE_SIZE);
    const ids = await load(mailroom, messages, settings.connections);
    // One message in the middle of the store: a search has to look at every other one.
    const target = Math.floor(messages.length / 2);
    const token = /Your order (\S+) has shipped/.exec(messages[target]!.subject)![1]!;
    const id = ids[target]!;
    const recipient = messages[target]!.rcptTo;
    const q = encodeURIComponent;
    const operations: Operation[] = [
      { name: 'page of 50', native: '/api/messages?limit=50', mailpit: '/api/v1/messages?limit=50', mailhog: '/api/v2/messages?limit=50' },
      { name: 'one message', native: `/api/messages/${id}`, mailpit: `/api/v1/message/${id}`, mailhog: `/api/v1/messages/${id}` },
      { name: 'subject search', native: `/api/messages?query=${q(`subject:${token}`)}`, mailpit: `/api/v1/search?query=${q(`subject:${token}`)}`, mailhog: null },
      // One in fifty messages is for this address: a full page of matches.
      { name: 'recipient search', native: `/api/messages?query=${q(`to:${recipient}`)}`, mailpit: `/api/v1/search?query=${q(`to:${recipient}`)}`, mailhog: `/api/v2/search?kind=to&query=${q(recipient)}` },
      { name: 'free-text search', native: `/api/messages?query=${q(token)}`, mailpit: `/api/v1/search?query=${q(token)}`, mailhog: `/api/v2/search?kind=containing&query=${q(token)}` },
    ];
    const apis = ['native', 'mailpit', 'mailhog'] as const;
    const cold = new Map<string, number>();
    const samples = new Map<string, number[]>();
    for (let round = 0; round < settings.rounds; round++) {
      for (const operation of operations) {
        for (const api of apis) {
          const path = operation[api];
          if (path === null) continue;
          const ms = await timedGet(mailroom.apiUrl, path);
          const key = `${operation.name}/${api}`;
          if (round === 0) cold.set(key, ms);
          else samples.set(key, [...(samples.get(key) ?? []), ms]);
        }
      }
    }
    const lines = [
      `Compat benchmark: ${formatInt(settings.messages)} messages of ~${formatInt(MESSAGE_SIZE)} bytes, ${formatInt(settings.rounds - 1)} rounds after a cold one; ` +
        `loopback, Node ${process.version}, ${cpus().length} CPUs`,
      'Mailpit and MailHog routes against the native route they map onto: median (p95) ms, and each median over the native one.',
      'MailHog has no subject search; its kind=to is the recipient search, and kind=containing (every header and the body) the free-text one.',
      'MailHog pages carry each message whole (its source twice over, and every part), native ones summaries.',
      '',
    ];
    const head = ['operation', 'native', 'Mailpit', 'MailHog', 'Mailpit/native', 'MailHog/native', 'cold: native, Mailpit, MailHog'];
    if (!settings.smoke) head.push('target');
    const rows = [head];
    for (const operation of operations) {
      const figures = apis.map((api) => samples.get(`${operation.name}/${api}`));
      const [native, mailpit, mailhog] = figures.map((f) => (f === undefined ? null : median(f))) as [number, number, number | null];
      const row = [
        operation.name,
        ...figures.map((f) => (f === undefined ? '—' : `${formatMs(median(f))} (${formatMs(percentile(f, 95))})`)),
        ratio(mailpit, native),
        mailhog === null ? '—' : ratio(mailhog, native),
        apis.map((api) => { const ms = cold.get(`${operation.name}/${api}`); return ms === undefined ? '—' : formatMs(ms); }).join(', '),
      ];
      if (!settings.smoke) {
        const pass = mailpit / native <= TARGET_RATIO && (mailhog === null || mailhog / native <= TARGET_RATIO);
        row.push(`<= ${TARGET_RATIO}x: ${pass ? 'PASS' : 'MISS'}`);
      }
      rows.push(row);
    }
    process.stdout.write(`${[...lines, table(rows), ''].join('\n')}\n`);
  } finally {
    agent.destroy();
    await mailroom.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:compat: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
