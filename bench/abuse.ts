import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { openDripper, openIdle, openPipeliner, type Dripper, type IdleResult, type Pipeliner } from './lib/abuse-load.js';
import { httpProbe, imapProbe, smtpProbe, type Samples } from './lib/abuse-probes.js';
import { BinMailroom } from './lib/bin-child.js';
import { machineBusyMs } from './lib/cpu-time.js';
import { LiveWatcher } from './lib/live-watch.js';
import { makeMessages, type BenchMessage } from './lib/messages.js';
import { countOption } from './lib/options.js';
import { table } from './lib/report.js';
import { runLoad } from './lib/smtp-load.js';
import { SmtpSender } from './lib/smtp-send.js';
import { formatInt, formatMs, formatPercent, percentile } from './lib/stats.js';

/*
 * npm run bench:abuse [-- --duration S --idle N --pipeliners N --smoke]
 * (or BENCH_ABUSE_DURATION, BENCH_ABUSE_IDLE, BENCH_ABUSE_PIPELINERS in the environment)
 *
 * Mailroom runs as `node bin/mailroom.js --max-store-bytes 256MiB` (every
 * other limit at its default) in a process of its own. First its SMTP ingest
 * rate is measured with bench:smtp's load generator and no attackers. Then,
 * all at once and for the whole window:
 * - idle connections spread over SMTP, POP3, IMAP and HTTP, from loopback
 *   aliases 127.0.0.2-5 (the default --max-connections-per-ip is 250);
 * - pipeliners that write commands with large answers and never read:
 *   IMAP FETCH 1:* BODY[], POP3 RETR of a 1 MiB message, HTTP GET of its
 *   /raw, repeated;
 * - two SMTP clients dripping one byte every few seconds, one in a command
 *   line and one inside DATA;
 * while a well-behaved client times SMTP sends, IMAP FETCH on an open
 * session and GET /api/messages, and Mailroom's RSS is sampled from /proc.
 * --smoke does it all with bench:smtp --smoke's ingest, 100 messages in the
 * mailbox, 40 idle connections, 3 pipeliners, faster drips, a 2 s window and
 * no targets, so that test/integration/bench-smoke.test.ts can keep this
 * script working in seconds.
 */

const STORE = '256MiB';
const STORE_BYTES = 256 * 1024 * 1024;
const MiB = 1024 * 1024;
const START_TIMEOUT_MS = 30_000;
const REPLY_TIMEOUT_MS = 30_000;
const MESSAGE_SIZE = 2048;
/** bench:smtp's defaults, so that the ingest rates compare; with --smoke, those of bench:smtp --smoke. */
const INGEST = { messages: 5000, connections: 10, warmup: 500 };
const SMOKE_INGEST = { messages: 300, connections: 10, warmup: 50 };
const MAILBOX_MESSAGES = 1000;
const BIG_MESSAGE_BYTES = 1024 * 1024;
const DRIP_EVERY_MS = 3000;
const TARGETS = { p99Ms: 50, rssOverStore: 200 * MiB };
const IDLE_ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
const PIPELINER_ADDRESS = '127.0.0.6';
const DRIPPER_ADDRESS = '127.0.0.7';

interface Settings {
  durationS: number;
  idle: number;
  pipeliners: number;
  ingest: typeof INGEST;
  mailbox: number;
  dripEveryMs: number;
  smoke: boolean;
}

function readSettings(): Settings {
  const { values } = parseArgs({
    options: { duration: { type: 'string' }, idle: { type: 'string' }, pipeliners: { type: 'string' }, smoke: { type: 'boolean', default: false } },
  });
  const env = process.env;
  const smoke = values.smoke;
  return {
    durationS: countOption('duration', values.duration ?? env.BENCH_ABUSE_DURATION, smoke ? 2 : 30, smoke ? 1 : 5, 600),
    idle: countOption('idle', values.idle ?? env.BENCH_ABUSE_IDLE, smoke ? 40 : 1000, 0, 3800),
    pipeliners: countOption('pipeliners', values.pipeliners ?? env.BENCH_ABUSE_PIPELINERS, smoke ? 3 : 50, 0, 200),
    ingest: smoke ? SMOKE_INGEST : INGEST,
    // No fewer than the 100 messages imapProbe fetches in turn.
    mailbox: smoke ? 100 : MAILBOX_MESSAGES,
    // Often enough for both drippers to get bytes in within the short window.
    dripEveryMs: smoke ? 500 : DRIP_EVERY_MS,
    smoke,
  };
}

/** The soft limit on open files: the bench holds over a thousand sockets at once. */
function openFileLimit(): number {
  try {
    return Number(/^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? Number.POSITIVE_INFINITY);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

interface Ingest {
  messagesPerSecond: number;
  serverCpuMsPerMessage: number;
  clientCpuMsPerMessage: number;
  otherCpuShare: number;
}

/**
 * bench:smtp's measurement, with its load generator and settings: a
 * warm-up, then 5,000 messages (300 with --smoke) of ~2 KB over 10
 * pipelining connections, timed to the last 250, while a socket.io client
 * takes the live events.
 */
async function ingestRate(server: BinMailroom, sizes: typeof INGEST): Promise<Ingest> {
  const live = await LiveWatcher.connect(server.apiUrl, 'message:new', START_TIMEOUT_MS);
  try {
    const load = (messages: BenchMessage[]) =>
      runLoad({ host: '127.0.0.1', port: server.ports.smtp, messages, connections: sizes.connections, replyTimeoutMs: REPLY_TIMEOUT_MS });
    const warm = makeMessages('warm', sizes.warmup, MESSAGE_SIZE);
    live.track(warm);
    await load(warm);
    await live.waitForAll(REPLY_TIMEOUT_MS);
    await deleteAll(server);
    const messages = makeMessages('ingest', sizes.messages, MESSAGE_SIZE);
    live.track(messages);
    const serverBefore = server.cpuMs();
    const clientBefore = process.cpuUsage();
    const machineBefore = machineBusyMs();
    const startedAt = performance.now();
    const result = await load(messages);
    await live.waitForAll(REPLY_TIMEOUT_MS);
    const elapsedMs = performance.now() - startedAt;
    const serverMs = server.cpuMs() - serverBefore;
    const client = process.cpuUsage(clientBefore);
    const clientMs = (client.user + client.system) / 1000;
    const otherMs = machineBusyMs() - machineBefore - serverMs - clientMs;
    await deleteAll(server);
    return {
      messagesPerSecond: sizes.messages / (result.wallMs / 1000),
      serverCpuMsPerMessage: serverMs / sizes.messages,
      clientCpuMsPerMessage: clientMs / sizes.messages,
      otherCpuShare: Math.max(0, otherMs) / (elapsedMs * cpus().length),
    };
  } finally {
    live.close();
  }
}

async function deleteAll(server: BinMailroom): Promise<void> {
  const response = await fetch(`${server.apiUrl}/api/messages`, { method: 'DELETE' });
  if (!response.ok) throw new Error(`DELETE /api/messages: HTTP ${response.status}`);
}

/** The attack's mailbox: `count` messages of ~2 KB, then one of 1 MiB for the pipeliners. */
async function fillMailbox(server: BinMailroom, count: number): Promise<{ bigId: string; bigNumber: number }> {
  await runLoad({ host: '127.0.0.1', port: server.ports.smtp, messages: makeMessages('mail', count, MESSAGE_SIZE), connections: 4, replyTimeoutMs: REPLY_TIMEOUT_MS });
  const [big] = makeMessages('big', 1, BIG_MESSAGE_BYTES);
  const sender = await SmtpSender.connect('127.0.0.1', server.ports.smtp, REPLY_TIMEOUT_MS);
  const { id } = await sender.send(big!);
  await sender.close();
  return { bigId: id, bigNumber: count + 1 };
}

interface RssTimeline {
  /** Highest RSS in each 5-second slice of the window. */
  slices: number[];
  max: number;
}

function sampleRss(server: BinMailroom, startedAt: number): { stop: () => RssTimeline } {
  const slices: number[] = [];
  let max = 0;
  const timer = setInterval(() => {
    const rss = server.rssBytes();
    const slice = Math.floor((performance.now() - startedAt) / 5000);
    slices[slice] = Math.max(slices[slice] ?? 0, rss);
    max = Math.max(max, rss);
  }, 250);
  return {
    stop: () => {
      clearInterval(timer);
      return { slices: Array.from(slices, (v) => v ?? 0), max };
    },
  };
}

function latencyRow(label: string, samples: Samples, target: boolean): string[] {
  const p99 = percentile(samples.ms, 99);
  const ok = samples.failures === 0 && samples.ms.length > 0 && p99 < TARGETS.p99Ms;
  return [
    label,
    formatMs(percentile(samples.ms, 50)),
    formatMs(p99),
    formatMs(samples.ms.length > 0 ? Math.max(...samples.ms) : Number.NaN),
    `${formatInt(samples.ms.length)}${samples.failures > 0 ? ` (${samples.failures} failed)` : ''}`,
    target ? `p99 < ${TARGETS.p99Ms} ms` : '(reference)',
    target ? (ok ? 'PASS' : 'MISS') : '',
  ];
}

const mib = (bytes: number): string => `${(bytes / MiB).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const settings = readSettings();
  const watchdog = setTimeout(() => {
    process.stderr.write('bench: still running after the time limit, giving up\n');
    process.exit(1);
  }, (settings.durationS + 300) * 1000);
  watchdog.unref();
  const needed = settings.idle + settings.pipeliners + 100;
  if (openFileLimit() < needed) throw new Error(`the limit on open files is ${openFileLimit()}; this bench needs about ${needed} (ulimit -n ${needed * 2})`);

  const server = await BinMailroom.start(['--max-store-bytes', STORE], START_TIMEOUT_MS);
  const attackers: { idle: IdleResult | null; pipeliners: Pipeliner[]; drippers: Dripper[] } = { idle: null, pipeliners: [], drippers: [] };
  try {
    const ingest = await ingestRate(server, settings.ingest);
    const { bigId, bigNumber } = await fillMailbox(server, settings.mailbox);
    await sleep(1000);
    const rssBefore = server.rssBytes();

    // Every attacker at once.
    const attackStart = performance.now();
    const perProtocol = Math.floor(settings.idle / 4);
    const kinds = ['imap', 'pop3', 'http'] as const;
    const [idle, pipeliners, drippers] = await Promise.all([
      openIdle(server.ports, perProtocol, IDLE_ADDRESSES),
      Promise.all(
        Array.from({ length: settings.pipeliners }, (_, i) => {
          const kind = kinds[i % kinds.length]!;
          return openPipeliner(kind, server.ports, PIPELINER_ADDRESS, i, { bigId, bigNumber }, kind === 'imap' ? 20 : kind === 'pop3' ? 40 : 100);
        }),
      ),
      Promise.all([
        openDripper('mid-command', server.ports.smtp, DRIPPER_ADDRESS, settings.dripEveryMs),
        openDripper('mid-DATA', server.ports.smtp, DRIPPER_ADDRESS, settings.dripEveryMs),
      ]),
    ]);
    attackers.idle = idle;
    attackers.pipeliners = pipeliners;
    attackers.drippers = drippers;
    const attackSetupMs = performance.now() - attackStart;

    // The window: the normal client at work, RSS sampled, CPU counted.
    const windowStart = performance.now();
    const until = windowStart + settings.durationS * 1000;
    const rss = sampleRss(server, windowStart);
    const serverCpuBefore = server.cpuMs();
    const clientCpuBefore = process.cpuUsage();
    const machineBefore = machineBusyMs();
    const probeMessages = makeMessages('probe', 500, MESSAGE_SIZE);
    const [smtp, imap, http] = await Promise.all([smtpProbe(server.ports.smtp, probeMessages, until), imapProbe(server.ports.imap, until), httpProbe(server.apiUrl, until)]);
    const windowMs = performance.now() - windowStart;
    const timeline = rss.stop();
    const serverCpuMs = server.cpuMs() - serverCpuBefore;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const clientCpuMs = (clientCpu.user + clientCpu.system) / 1000;
    const otherCpuMs = Math.max(0, machineBusyMs() - machineBefore - serverCpuMs - clientCpuMs);

    const idleStillOpen = idle.sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
    const pipelinersOpen = pipeliners.filter((p) => !p.socket.destroyed && p.socket.readyState === 'open').length;
    const rssBound = STORE_BYTES + TARGETS.rssOverStore;
    const rows: string[][] = [
      ['under attack', 'p50 ms', 'p99 ms', 'max ms', 'samples', 'target', ''],
      latencyRow('SMTP connect to 250 (one message)', smtp.connectTo250, false),
      latencyRow('  of which connect to EHLO reply', smtp.connectToEhlo, false),
      latencyRow('  of which MAIL FROM to 250', smtp.mailTo250, true),
      latencyRow('IMAP FETCH n (FLAGS UID BODY.PEEK[])', imap, true),
      latencyRow('GET /api/messages (50 summaries)', http, true),
      ['Mailroom RSS, max over the window', '', '', mib(timeline.max), `${timeline.slices.length} slices`, `< ${mib(rssBound)} (store + 200 MiB)`, timeline.max < rssBound ? 'PASS' : 'MISS'],
    ];
    const cores = cpus().length;
    const lines = [
      `Abuse benchmark: Mailroom ${'`'}--max-store-bytes ${STORE}${'`'}, other limits at their defaults; Node ${process.version}, ${cores} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
      '',
      `SMTP ingest, no attackers (bench:smtp's load: ${formatInt(settings.ingest.messages)} messages of ~${formatInt(MESSAGE_SIZE)} B over ${settings.ingest.connections} connections after ${settings.ingest.warmup} warm-up, a socket.io client on live events):`,
      `  ${formatInt(ingest.messagesPerSecond)} messages/s; server CPU ${ingest.serverCpuMsPerMessage.toFixed(3)} ms/message, load client CPU ${ingest.clientCpuMsPerMessage.toFixed(3)} ms/message, ` +
        `other processes ${formatPercent(ingest.otherCpuShare, false)} of all CPUs (compare with the throughput line of npm run bench:smtp)`,
      '',
      `Attackers (set up in ${formatInt(attackSetupMs)} ms, kept for the whole ${settings.durationS} s window):`,
      `  idle: ${Object.entries(idle.open).map(([p, n]) => `${p} ${n}`).join(', ')} open of ${perProtocol} each from ${IDLE_ADDRESSES.join(', ')}` +
        `${idle.failed > 0 ? `; ${idle.failed} refused or failed (first: ${idle.firstFailure})` : ''}; ${idleStillOpen} still open at the end`,
      `  never-reading pipeliners: ${pipeliners.length} (${kinds.map((k) => `${pipeliners.filter((p) => p.protocol === k).length} ${k}`).join(', ')}), ` +
        `${formatInt(pipeliners.reduce((n, p) => n + p.bytes, 0))} bytes of commands; ${pipelinersOpen} still open at the end`,
      `  slow drips (the defaults close them after --smtp-timeout, 60 s, for a command line and --smtp-data-timeout, 600 s, for a message):`,
      ...drippers.map(
        (d) =>
          `    ${d.label}, a byte every ${settings.dripEveryMs / 1000} s: ${d.dripped} bytes dripped; ` +
          (d.closedAt === null ? 'still open at the end' : `closed by Mailroom after ${((d.closedAt - attackStart) / 1000).toFixed(1)} s`) +
          (d.lastReply ? ` (last reply: ${d.lastReply.slice(0, 80)})` : ''),
      ),
      '',
      table(settings.smoke ? rows.map((row) => row.slice(0, -2)) : rows),
      '',
      `Mailroom RSS: ${mib(rssBefore)} before the attack; max per 5 s: ${timeline.slices.map(mib).join(', ')}`,
      `CPU over the ${(windowMs / 1000).toFixed(1)} s window: Mailroom ${formatInt(serverCpuMs)} ms (${formatPercent(serverCpuMs / windowMs, false)} of one CPU), ` +
        `this load client ${formatInt(clientCpuMs)} ms (${formatPercent(clientCpuMs / windowMs, false)}), other processes ${formatPercent(otherCpuMs / (windowMs * cores), false)} of all CPUs: ` +
        'noise in the latencies when high',
      ...(server.log.length > 0 ? [`Mailroom logged ${server.log.length} warnings or errors, the first: ${server.log[0]!.slice(0, 300)}`] : []),
      ...[
        ['SMTP', smtp.connectTo250],
        ['IMAP', imap],
        ['HTTP', http],
      ]
        .filter(([, s]) => (s as Samples).failures > 0)
        .map(([name, s]) => `${name} probe failures: ${(s as Samples).failures}, the first: ${(s as Samples).firstFailure}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const d of attackers.drippers) d.stop();
    for (const p of attackers.pipeliners) p.socket.destroy();
    for (const s of attackers.idle?.sockets ?? []) s.destroy();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
