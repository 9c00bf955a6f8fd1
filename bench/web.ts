import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { launchChromium, mapClock, measureFirstRows, newProbedContext, readSightings, waitForRows, type FirstRowsSample } from './lib/browser.js';
import { CHILD_MAX_MESSAGES } from './lib/child-protocol.js';
import { machineBusyMs } from './lib/cpu-time.js';
import { MailroomChild } from './lib/mailroom-child.js';
import { makeMessages } from './lib/messages.js';
import { treeCpuMs } from './lib/process-tree.js';
import { runLoad } from './lib/smtp-load.js';
import { SmtpSender, type Sent } from './lib/smtp-send.js';
import { renderWebReport, type LiveSample } from './lib/web-report.js';
import { countOption } from './lib/options.js';

/*
 * npm run bench:web [-- --messages N --runs N --live N --interval MS --smoke]
 * (or BENCH_WEB_MESSAGES, BENCH_WEB_RUNS, BENCH_WEB_LIVE, BENCH_WEB_INTERVAL)
 *
 * Mailroom runs in a child process holding N messages (50,000 by default,
 * loaded with the pipelined client of bench:smtp); Chromium then measures
 * (a) how soon after navigation the web inbox paints its first row, cold and
 * warm, and (b) how soon after an SMTP send the new message's row is painted
 * in an open inbox. Prints one report; progress goes to standard error.
 * --smoke does the same with 300 messages, one load of each kind, 5 live
 * rows and no targets, so that test/integration/bench-smoke.test.ts can keep
 * this script working in seconds.
 */

const MESSAGE_SIZE = 2048;
const LOAD_CONNECTIONS = 10;
const START_TIMEOUT_MS = 30_000;
const REPLY_TIMEOUT_MS = 30_000;
const PAGE_TIMEOUT_MS = 15_000;
/** After the last send, how long the page may take to show every row. */
const LIVE_SETTLE_MS = 10_000;

interface Settings {
  messages: number;
  runs: number;
  live: number;
  interval: number;
  smoke: boolean;
}

function readSettings(): Settings {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string' },
      runs: { type: 'string' },
      live: { type: 'string' },
      interval: { type: 'string' },
      smoke: { type: 'boolean', default: false },
    },
  });
  const smoke = values.smoke;
  return {
    messages: countOption('messages', values.messages ?? process.env.BENCH_WEB_MESSAGES, smoke ? 300 : 50_000, 1, CHILD_MAX_MESSAGES),
    runs: countOption('runs', values.runs ?? process.env.BENCH_WEB_RUNS, smoke ? 1 : 10, 1, 100),
    live: countOption('live', values.live ?? process.env.BENCH_WEB_LIVE, smoke ? 5 : 200, 1, 10_000),
    interval: countOption('interval', values.interval ?? process.env.BENCH_WEB_INTERVAL, 20, 0, 10_000),
    smoke,
  };
}

const progress = (text: string): void => {
  process.stderr.write(`bench:web: ${text}\n`);
};

/**
 * Runs `phase` and returns, with its result, the share of all CPUs that
 * processes other than the benchmark, Mailroom and Chromium used meanwhile:
 * on a shared machine that is the noise in the figures.
 */
async function measuringOthers<T>(phase: () => Promise<T>): Promise<[T, number]> {
  const machineBefore = machineBusyMs();
  const oursBefore = treeCpuMs();
  const startedAt = performance.now();
  const result = await phase();
  const others = machineBusyMs() - machineBefore - (treeCpuMs() - oursBefore);
  return [result, Math.max(0, others) / ((performance.now() - startedAt) * cpus().length)];
}

/** Fills the store with the pipelined load client; returns how long that took. */
async function fill(server: MailroomChild, count: number): Promise<number> {
  const messages = makeMessages('stored', count, MESSAGE_SIZE);
  const result = await runLoad({
    host: '127.0.0.1',
    port: server.smtpPort,
    messages,
    connections: LOAD_CONNECTIONS,
    replyTimeoutMs: REPLY_TIMEOUT_MS,
  });
  const info = await server.info();
  if (info.messages !== count) throw new Error(`Mailroom holds ${info.messages} messages after loading, expected ${count}`);
  return result.wallMs;
}

/** (a): cold loads each in a context of their own, warm loads as new pages in one context. */
async function firstRows(browser: Browser, url: string, runs: number): Promise<{ cold: FirstRowsSample[]; warm: FirstRowsSample[] }> {
  const cold: FirstRowsSample[] = [];
  const warm: FirstRowsSample[] = [];
  const warmContext = await newProbedContext(browser);
  try {
    // Uncounted: the server's first page, list and socket.io handshake run its cold code paths, and this fills warmContext's cache.
    await measureFirstRows(warmContext, url, PAGE_TIMEOUT_MS);
    for (let run = 0; run < runs; run++) {
      const context = await newProbedContext(browser);
      try {
        cold.push(await measureFirstRows(context, url, PAGE_TIMEOUT_MS));
      } finally {
        await context.close();
      }
      warm.push(await measureFirstRows(warmContext, url, PAGE_TIMEOUT_MS));
    }
  } finally {
    await warmContext.close();
  }
  return { cold, warm };
}

/** (b): messages sent one at a time to an open inbox, each timed to its row. */
async function liveRows(browser: Browser, server: MailroomChild, url: string, settings: Settings) {
  const context = await newProbedContext(browser);
  try {
    const page = await context.newPage();
    await page.goto(url, { timeout: PAGE_TIMEOUT_MS });
    await page.locator('button.row[data-id]').first().waitFor({ timeout: PAGE_TIMEOUT_MS });
    // Let the first render, its fetches and the socket settle before the sends.
    await sleep(500);
    const clockBefore = await mapClock(page);

    const messages = makeMessages('live', settings.live, MESSAGE_SIZE);
    const sender = await SmtpSender.connect('127.0.0.1', server.smtpPort, REPLY_TIMEOUT_MS);
    const sent: Sent[] = [];
    try {
      const start = performance.now();
      for (let i = 0; i < messages.length; i++) {
        const due = start + i * settings.interval;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        sent.push(await sender.send(messages[i]!));
      }
    } finally {
      await sender.close();
    }

    const ids = sent.map((s) => s.id);
    await waitForRows(page, ids, LIVE_SETTLE_MS);
    const sightings = await readSightings(page, ids);
    const clockAfter = await mapClock(page);

    // Node's performance.now() as epoch ms, and the page's epoch ms mapped onto Node's clock.
    const nodeEpoch = (t: number): number => performance.timeOrigin + t;
    const toNode = (t: number | undefined): number => (t === undefined ? Number.NaN : t - clockBefore.offsetMs);
    const samples: LiveSample[] = sent.map((s, i) => {
      const seen = sightings[i]!;
      const dot = nodeEpoch(s.dotAt);
      const reply = nodeEpoch(s.queuedAt);
      const onScreen = toNode(seen.shown ?? seen.paint);
      return {
        dotToReply: reply - dot,
        dotToFrame: toNode(seen.frame) - dot,
        frameToDom: toNode(seen.dom) - toNode(seen.frame),
        dotToDom: toNode(seen.dom) - dot,
        dotToPaint: toNode(seen.paint) - dot,
        dotToShown: toNode(seen.shown) - dot,
        dotToOnScreen: onScreen - dot,
        replyToOnScreen: onScreen - reply,
      };
    });
    return { samples, clockBefore, clockAfter };
  } finally {
    await context.close();
  }
}

async function main(): Promise<void> {
  const settings = readSettings();
  const watchdog = setTimeout(
    () => {
      process.stderr.write('bench:web: still running after the time limit, giving up\n');
      process.exit(1);
    },
    5 * 60_000 + settings.messages * 2 + settings.live * (settings.interval + 50),
  );
  watchdog.unref();

  const server = await MailroomChild.start(START_TIMEOUT_MS);
  let browser: Browser | null = null;
  try {
    progress(`loading ${settings.messages.toLocaleString('en-US')} messages`);
    const loadMs = await fill(server, settings.messages);
    const memory = await server.memoryAfterGc();
    const info = await server.info();
    const url = `${server.apiUrl}/`;
    const loadAverage = loadavg()[0]!;

    browser = await launchChromium();
    progress(`first rows: ${settings.runs} cold and ${settings.runs} warm loads`);
    const [{ cold, warm }, othersFirstRows] = await measuringOthers(() => firstRows(browser!, url, settings.runs));
    progress(`live rows: ${settings.live} messages, one every ${settings.interval} ms`);
    const [live, othersLive] = await measuringOthers(() => liveRows(browser!, server, url, settings));

    process.stdout.write(
      `${renderWebReport({
        messages: settings.messages,
        rawBytesPerMessage: info.storeBytes / info.messages,
        loadMs,
        loadConnections: LOAD_CONNECTIONS,
        serverHeapBytes: memory.heapUsed + memory.external,
        chromiumVersion: browser.version(),
        loadAverage,
        othersFirstRows,
        othersLive,
        url,
        cold,
        warm,
        live: live.samples,
        liveInterval: settings.interval,
        clockBefore: live.clockBefore,
        clockAfter: live.clockAfter,
        targets: !settings.smoke,
      })}\n`,
    );
  } finally {
    await browser?.close();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:web: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
