import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CHILD_MAX_MESSAGES } from './lib/child-protocol.js';
import { machineBusyMs } from './lib/cpu-time.js';
import { LiveWatcher } from './lib/live-watch.js';
import { scratchDir, writeMaildirFixture } from './lib/maildir-fixture.js';
import { ensureMaildev, Maildev, MAILDEV_VERSION } from './lib/maildev.js';
import { MailroomChild } from './lib/mailroom-child.js';
import { makeMessages, type BenchMessage } from './lib/messages.js';
import { persistenceVerdicts, renderPersistenceReport, type IngestFigures, type StartupRow } from './lib/persistence-report.js';
import { renderReport, type LoadFigures, type MailroomFigures } from './lib/report.js';
import { runLoad, type LoadResult } from './lib/smtp-load.js';
import { percentile } from './lib/stats.js';
import { countOption } from './lib/options.js';
import { timeStartup } from './lib/startup-load.js';

/*
 * npm run bench:smtp [-- --messages N --connections N --warmup N --no-maildev --data-dir --smoke]
 * (or BENCH_MESSAGES, BENCH_CONNECTIONS, BENCH_WARMUP in the environment)
 *
 * Mailroom runs in a child process so its CPU and memory are its own; the
 * same load then goes to MailDev for comparison. Prints one report.
 * --data-dir instead weighs persistence: the same load on Mailroom in memory
 * and with a fresh data directory, then the time a start takes to load data
 * directories of 10,000 and 100,000 messages; it exits 1 when a target is missed.
 * --smoke runs every phase on a few hundred messages, without MailDev (an
 * install from the registry) or targets, so that test/integration/bench-smoke.test.ts
 * can keep this script working in seconds; the figures it prints mean little.
 */

const MESSAGE_SIZE = 2048;
const START_TIMEOUT_MS = 30_000;
const REPLY_TIMEOUT_MS = 30_000;
const EVENTS_TIMEOUT_MS = 30_000;
/** Well above the 15 s target for 100,000 messages, yet bounded. */
const STARTUP_TIMEOUT_MS = 120_000;

interface Settings {
  messages: number;
  connections: number;
  warmup: number;
  maildev: boolean;
  dataDir: boolean;
  /** Sizes of the data directories whose loading --data-dir times, in this order. */
  startupLoads: number[];
  smoke: boolean;
}

function readSettings(): Settings {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string' },
      connections: { type: 'string' },
      warmup: { type: 'string' },
      'no-maildev': { type: 'boolean', default: false },
      'data-dir': { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
    },
  });
  const smoke = values.smoke;
  return {
    messages: countOption('messages', values.messages ?? process.env.BENCH_MESSAGES, smoke ? 300 : 5000, 1, CHILD_MAX_MESSAGES),
    connections: countOption('connections', values.connections ?? process.env.BENCH_CONNECTIONS, 10, 1, 1000),
    warmup: countOption('warmup', values.warmup ?? process.env.BENCH_WARMUP, smoke ? 50 : 500, 0, CHILD_MAX_MESSAGES),
    maildev: !values['no-maildev'],
    dataDir: values['data-dir'],
    startupLoads: smoke ? [1000] : [10_000, 100_000],
    smoke,
  };
}

/** What the benchmark needs from either server. */
interface Target {
  smtpPort: number;
  cpuMs(): number | Promise<number>;
  deleteAll(): Promise<void>;
}

/** Uncounted traffic first, so that the server's code is compiled and optimised before it is timed. */
async function warmUp(target: Target, live: LiveWatcher, settings: Settings): Promise<void> {
  const warm = makeMessages('warm', settings.warmup, MESSAGE_SIZE);
  live.track(warm);
  if (warm.length > 0) await load(target, warm, settings);
  await live.waitForAll(EVENTS_TIMEOUT_MS);
  await target.deleteAll();
}

/** The counted run: throughput, latencies and the CPU time of server and client. */
async function timedRun(target: Target, live: LiveWatcher, label: string, settings: Settings): Promise<LoadFigures> {
  const messages = makeMessages(label, settings.messages, MESSAGE_SIZE);
  const seenAt = live.track(messages);
  const serverBefore = await target.cpuMs();
  const clientBefore = process.cpuUsage();
  const machineBefore = machineBusyMs();
  const startedAt = performance.now();
  const result = await load(target, messages, settings);
  // CPU is read once every event is out, so it includes building and sending them.
  await live.waitForAll(EVENTS_TIMEOUT_MS);
  const serverMs = (await target.cpuMs()) - serverBefore;
  const client = process.cpuUsage(clientBefore);
  const clientMs = (client.user + client.system) / 1000;
  const otherMs = machineBusyMs() - machineBefore - serverMs - clientMs;
  const elapsedMs = performance.now() - startedAt;
  const replies = latencies(result.dotAt, result.queuedAt);
  const events = latencies(result.dotAt, seenAt);
  return {
    messagesPerSecond: messages.length / (result.wallMs / 1000),
    replyP50: percentile(replies, 50),
    replyP99: percentile(replies, 99),
    liveP50: percentile(events, 50),
    liveP99: percentile(events, 99),
    cpuMsPerMessage: serverMs / messages.length,
    clientCpuMsPerMessage: clientMs / messages.length,
    otherCpuShare: Math.max(0, otherMs) / (elapsedMs * cpus().length),
    pipelined: result.pipelined,
  };
}

function load(target: Target, messages: readonly BenchMessage[], settings: Settings): Promise<LoadResult> {
  return runLoad({ host: '127.0.0.1', port: target.smtpPort, messages, connections: settings.connections, replyTimeoutMs: REPLY_TIMEOUT_MS });
}

function latencies(from: Float64Array, to: Float64Array): Float64Array {
  return to.map((t, i) => t - from[i]!);
}

/** Mailroom in its child, in memory or keeping its messages in `dataDir`, with a live client on its events. */
async function withMailroom<T>(dataDir: string | undefined, work: (server: MailroomChild, live: LiveWatcher) => Promise<T>): Promise<T> {
  const server = await MailroomChild.start(START_TIMEOUT_MS, [], dataDir);
  try {
    const live = await LiveWatcher.connect(server.apiUrl, 'message:new', START_TIMEOUT_MS);
    try {
      return await work(server, live);
    } finally {
      live.close();
    }
  } finally {
    await server.stop();
  }
}

/** The store's count and size after the timed run, which must hold every message sent. */
async function heldAfterRun(server: MailroomChild, settings: Settings): Promise<{ messages: number; storeBytes: number }> {
  const info = await server.info();
  if (info.messages !== settings.messages) {
    throw new Error(`Mailroom holds ${info.messages} messages after the run, expected ${settings.messages}`);
  }
  return info;
}

function benchMailroom(settings: Settings): Promise<MailroomFigures> {
  return withMailroom(undefined, async (server, live) => {
    await warmUp(server, live, settings);
    const idle = await server.memoryAfterGc();
    const figures = await timedRun(server, live, 'mailroom', settings);
    const info = await heldAfterRun(server, settings);
    const loaded = await server.memoryAfterGc();
    await server.deleteAll();
    const cleared = await server.memoryAfterGc();
    return { ...figures, rawBytesPerMessage: info.storeBytes / info.messages, idle, loaded, cleared };
  });
}

/** The load alone, the same in memory and with a data directory. */
function benchIngest(settings: Settings, dataDir: string | undefined): Promise<IngestFigures> {
  return withMailroom(dataDir, async (server, live) => {
    await warmUp(server, live, settings);
    const figures = await timedRun(server, live, dataDir === undefined ? 'memory' : 'disk', settings);
    const info = await heldAfterRun(server, settings);
    return { ...figures, rawBytesPerMessage: info.storeBytes / info.messages };
  });
}

/** Writes a data directory of `count` messages and times a start loading it; every message written must be loaded. */
async function benchStartup(dir: string, count: number): Promise<StartupRow> {
  const fixture = writeMaildirFixture(dir, count, MESSAGE_SIZE);
  const load = await timeStartup(dir, STARTUP_TIMEOUT_MS);
  if (load.messages !== fixture.messages || load.bytes !== fixture.bytes) {
    throw new Error(`loading ${dir} gave ${load.messages} messages of ${load.bytes} bytes, but ${fixture.messages} of ${fixture.bytes} were written`);
  }
  return { fixture, load };
}

async function benchPersistence(settings: Settings): Promise<void> {
  const scratch = scratchDir();
  try {
    const memory = await benchIngest(settings, undefined);
    const disk = await benchIngest(settings, join(scratch.path, 'smtp'));
    const startup: StartupRow[] = [];
    for (const count of settings.startupLoads) {
      const dir = join(scratch.path, `load-${count}`);
      startup.push(await benchStartup(dir, count));
      // 100,000 messages take some hundreds of MB on disk.
      rmSync(dir, { recursive: true, force: true });
    }
    const report = { ...settings, memory, disk, startup, scratchDir: scratch.path, targets: !settings.smoke };
    process.stdout.write(`${renderPersistenceReport(report)}\n`);
    if (report.targets && persistenceVerdicts(report).some((verdict) => !verdict.ok)) process.exitCode = 1;
  } finally {
    scratch.remove();
  }
}

async function benchMaildev(bin: string, settings: Settings): Promise<LoadFigures> {
  const server = await Maildev.start(bin, START_TIMEOUT_MS);
  try {
    // Its web inbox gets the same live client, so both servers do the same work per message.
    const live = await LiveWatcher.connect(server.webUrl, 'newMail', START_TIMEOUT_MS);
    try {
      await warmUp(server, live, settings);
      return await timedRun(server, live, 'maildev', settings);
    } finally {
      live.close();
    }
  } finally {
    await server.stop();
  }
}

/** MailDev's figures, or a clear reason why there are none; Mailroom's figures are reported either way. */
async function compareWithMaildev(settings: Settings): Promise<LoadFigures | { skipped: string }> {
  if (settings.smoke) return { skipped: '--smoke given' };
  if (!settings.maildev) return { skipped: '--no-maildev given' };
  const install = await ensureMaildev();
  if ('error' in install) return { skipped: `MailDev ${MAILDEV_VERSION} could not be installed: ${install.error}` };
  try {
    return await benchMaildev(install.bin, settings);
  } catch (error) {
    // Installed but failing points at the benchmark itself, so the exit status says so.
    process.exitCode = 1;
    return { skipped: `the MailDev run failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}

async function main(): Promise<void> {
  const settings = readSettings();
  // Generous for MailDev on a slow machine, yet bounded: a hang ends the run.
  const watchdog = setTimeout(() => {
    process.stderr.write('bench: still running after the time limit, giving up\n');
    process.exit(1);
  }, 10 * 60_000 + settings.messages * 20);
  watchdog.unref();

  if (settings.dataDir) {
    await benchPersistence(settings);
    return;
  }
  const mailroom = await benchMailroom(settings);
  const maildev = await compareWithMaildev(settings);
  process.stdout.write(`${renderReport({
    messages: settings.messages,
    connections: settings.connections,
    warmup: settings.warmup,
    mailroom,
    maildev,
    maildevVersion: MAILDEV_VERSION,
    targets: !settings.smoke,
  })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
