import { Agent, request } from 'node:http';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { machineBusyMs } from './lib/cpu-time.js';
import { MailroomChild } from './lib/mailroom-child.js';
import { makeMessages, type BenchMessage } from './lib/messages.js';
import { countOption } from './lib/options.js';
import { table } from './lib/report.js';
import { SmtpSender } from './lib/smtp-send.js';
import { formatInt, formatMs, percentile } from './lib/stats.js';

/*
 * npm run bench:wait [-- --inboxes N --per-inbox N --rate N --connections N --warmup N --cpu-prof-dir DIR --smoke]
 * (or BENCH_WAIT_INBOXES, BENCH_WAIT_PER_INBOX, BENCH_WAIT_RATE, BENCH_WAIT_CONNECTIONS,
 * BENCH_WAIT_WARMUP in the environment)
 *
 * Mailroom runs in a child process. One waiter per inbox w<i>@bench.test
 * long-polls GET /api/messages/wait?query=to:<inbox>&after=<cursor>, re-arming
 * with the id of each answer as its new cursor, while the messages arrive over
 * SMTP in a shuffled inbox order at a steady rate. Each answer is timed from
 * the 250 that accepted its message, both on this process's clock, and checked
 * to be addressed to the waiter's own inbox. An uncounted warm-up pass of the
 * same kind comes first; the timed pass continues from each waiter's cursor.
 * --cpu-prof-dir has the Mailroom child write a V8 CPU profile of its whole
 * life, warm-up included, into DIR when it exits. --smoke has 20 waiters and
 * judges no target, so that test/integration/bench-smoke.test.ts can keep this
 * script working in seconds; a wrong or missing answer still fails it.
 */

const MESSAGE_SIZE = 2048;
const START_TIMEOUT_MS = 30_000;
const REPLY_TIMEOUT_MS = 30_000;
/** The waits' own timeout: far beyond any answer, so a 408 means a message was missed. */
const POLL_TIMEOUT_S = 30;
/**
 * Time for the server to take in the waiters' first requests before mail is
 * sent. Nothing reports how many waits are pending; one armed late is still
 * answered through its cursor, only from the store rather than live.
 */
const ARM_SETTLE_MS = 500;
const TARGET_P99_MS = 20;

interface Settings {
  inboxes: number;
  perInbox: number;
  rate: number;
  connections: number;
  warmup: number;
  cpuProfDir: string | undefined;
  smoke: boolean;
}

function readSettings(): Settings {
  const { values } = parseArgs({
    options: {
      inboxes: { type: 'string' },
      'per-inbox': { type: 'string' },
      rate: { type: 'string' },
      connections: { type: 'string' },
      warmup: { type: 'string' },
      'cpu-prof-dir': { type: 'string' },
      smoke: { type: 'boolean', default: false },
    },
  });
  const env = process.env;
  const smoke = values.smoke;
  return {
    inboxes: countOption('inboxes', values.inboxes ?? env.BENCH_WAIT_INBOXES, smoke ? 20 : 200, 1, 10_000),
    perInbox: countOption('per-inbox', values['per-inbox'] ?? env.BENCH_WAIT_PER_INBOX, 10, 1, 1000),
    rate: countOption('rate', values.rate ?? env.BENCH_WAIT_RATE, 500, 1, 100_000),
    connections: countOption('connections', values.connections ?? env.BENCH_WAIT_CONNECTIONS, 4, 1, 100),
    warmup: countOption('warmup', values.warmup ?? env.BENCH_WAIT_WARMUP, smoke ? 1 : 2, 0, 1000),
    cpuProfDir: values['cpu-prof-dir'],
    smoke,
  };
}

const inboxAddress = (inbox: number): string => `w${inbox}@bench.test`;

/** The messages of one pass: `perInbox` for each inbox, in a shuffled order. */
interface Plan {
  perInbox: number;
  messages: BenchMessage[];
  /** The inbox each message is addressed to, by message index. */
  inboxOf: Int32Array;
  /** Message index by its unique subject: how an answer is matched to its 250. */
  bySubject: Map<string, number>;
}

function makePlan(label: string, inboxes: number, perInbox: number): Plan {
  const inboxOf = new Int32Array(inboxes * perInbox).map((_, i) => i % inboxes);
  // Fisher-Yates with a fixed Park-Miller sequence: shuffled, yet the same order on every run.
  let state = 20_240_601;
  for (let i = inboxOf.length - 1; i > 0; i--) {
    state = (state * 48271) % 2147483647;
    const j = state % (i + 1);
    [inboxOf[i], inboxOf[j]] = [inboxOf[j]!, inboxOf[i]!];
  }
  const messages = makeMessages(label, inboxOf.length, MESSAGE_SIZE, (seq) => ({
    name: `Waiter ${inboxOf[seq]}`,
    address: inboxAddress(inboxOf[seq]!),
  }));
  return { perInbox, messages, inboxOf, bySubject: new Map(messages.map((m, i) => [m.subject, i])) };
}

/** What the benchmark reads of a wait's 200 answer (a message detail). */
interface WaitAnswer {
  id: string;
  subject: string;
  to: { address: string }[];
  envelope: { rcptTo: string[] };
}

interface HttpAnswer {
  status: number;
  body: string;
  /** performance.now() once the whole response was read. */
  at: number;
}

function get(agent: Agent, url: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), at: performance.now() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** What one pass saw, per message index of its plan; NaN where it did not happen. */
interface PassRecord {
  /** performance.now() when the 250 to the message's content arrived. */
  queuedAt: Float64Array;
  /** performance.now() when the message's own waiter had read the answer carrying it. */
  answeredAt: Float64Array;
  /** performance.now() when the poll that answered with it was sent. */
  polledAt: Float64Array;
  /** Answers that carried another inbox's message: each one a failure. */
  crossInbox: string[];
  /** Anything else wrong: 408s, repeated answers. */
  problems: string[];
}

/**
 * One waiter: polls until it has every message of its inbox, moving its cursor
 * to each answer. A 408 ends it (its remaining messages count as unanswered),
 * since looping on would only hide a lost message behind the watchdog.
 */
async function runWaiter(agent: Agent, apiUrl: string, inbox: number, cursors: string[], plan: Plan, record: PassRecord): Promise<void> {
  const address = inboxAddress(inbox);
  const query = encodeURIComponent(`to:${address}`);
  let answered = 0;
  while (answered < plan.perInbox) {
    const polledAt = performance.now();
    const { status, body, at } = await get(agent, `${apiUrl}/api/messages/wait?query=${query}&after=${cursors[inbox]}&timeout=${POLL_TIMEOUT_S}`);
    if (status === 408) {
      const arrived = (JSON.parse(body) as { arrived: unknown[] }).arrived.length;
      record.problems.push(`${address}: 408 after ${POLL_TIMEOUT_S} s with ${answered} of ${plan.perInbox} answered (${arrived} arrived meanwhile)`);
      return;
    }
    if (status !== 200) throw new Error(`${address}: the wait answered HTTP ${status}: ${body.slice(0, 200)}`);
    const answer = JSON.parse(body) as WaitAnswer;
    cursors[inbox] = answer.id;
    const index = plan.bySubject.get(answer.subject);
    const addressed = [...answer.envelope.rcptTo, ...answer.to.map((to) => to.address)];
    if (index === undefined || plan.inboxOf[index] !== inbox || addressed.some((a) => a.toLowerCase() !== address)) {
      record.crossInbox.push(`${address} was answered with ${answer.id} "${answer.subject}" for ${[...new Set(addressed)].join(', ')}`);
      continue;
    }
    if (!Number.isNaN(record.answeredAt[index]!)) {
      record.problems.push(`${address} was answered twice with ${answer.id}`);
      continue;
    }
    record.answeredAt[index] = at;
    record.polledAt[index] = polledAt;
    answered += 1;
  }
}

/**
 * Sends message k at `start + k / rate` over connection k mod `connections`,
 * MAIL, RCPT and DATA pipelined, one message in flight per connection. A
 * connection that falls behind sends its next message as soon as it can; the
 * worst lag is reported, as it makes the rate unsteady.
 */
async function sendPaced(senders: SmtpSender[], messages: readonly BenchMessage[], rate: number, queuedAt: Float64Array): Promise<{ wallMs: number; maxLagMs: number }> {
  let maxLagMs = 0;
  const start = performance.now();
  await Promise.all(
    senders.map(async (sender, c) => {
      for (let k = c; k < messages.length; k += senders.length) {
        const wait = start + (k * 1000) / rate - performance.now();
        if (wait > 0) await sleep(wait);
        else maxLagMs = Math.max(maxLagMs, -wait);
        queuedAt[k] = (await sender.send(messages[k]!, true)).queuedAt;
      }
    }),
  );
  return { wallMs: Math.max(...queuedAt) - start, maxLagMs };
}

interface PassFigures {
  record: PassRecord;
  sendWallMs: number;
  maxLagMs: number;
  serverCpuMs: number;
  clientCpuMs: number;
  /** Share of all CPUs that other processes used meanwhile: noise in the figures. */
  otherCpuShare: number;
}

async function runPass(server: MailroomChild, agent: Agent, plan: Plan, cursors: string[], settings: Settings): Promise<PassFigures> {
  const count = plan.messages.length;
  const record: PassRecord = {
    queuedAt: new Float64Array(count).fill(Number.NaN),
    answeredAt: new Float64Array(count).fill(Number.NaN),
    polledAt: new Float64Array(count).fill(Number.NaN),
    crossInbox: [],
    problems: [],
  };
  const senders = await Promise.all(Array.from({ length: settings.connections }, () => SmtpSender.connect('127.0.0.1', server.smtpPort, REPLY_TIMEOUT_MS)));
  try {
    const serverBefore = await server.cpuMs();
    const clientBefore = process.cpuUsage();
    const machineBefore = machineBusyMs();
    const startedAt = performance.now();
    const waiters = Array.from({ length: settings.inboxes }, (_, inbox) => runWaiter(agent, server.apiUrl, inbox, cursors, plan, record));
    // A failing waiter must not reject unobserved while the sends are awaited.
    const waited = Promise.all(waiters);
    waited.catch(() => undefined);
    await sleep(ARM_SETTLE_MS);
    const { wallMs, maxLagMs } = await sendPaced(senders, plan.messages, settings.rate, record.queuedAt);
    await waited;
    const serverCpuMs = (await server.cpuMs()) - serverBefore;
    const client = process.cpuUsage(clientBefore);
    const clientCpuMs = (client.user + client.system) / 1000;
    const otherMs = machineBusyMs() - machineBefore - serverCpuMs - clientCpuMs;
    const otherCpuShare = Math.max(0, otherMs) / ((performance.now() - startedAt) * cpus().length);
    return { record, sendWallMs: wallMs, maxLagMs, serverCpuMs, clientCpuMs, otherCpuShare };
  } finally {
    await Promise.all(senders.map((sender) => sender.close()));
  }
}

const ms = (value: number): string => `${formatMs(value)} ms`;

interface Analysis {
  /** Answer minus 250, in ms, of every message its own waiter answered. */
  latencies: number[];
  fromStore: number;
  unanswered: number;
  /** No answer went to the wrong waiter, none came twice, none is missing. */
  correct: boolean;
}

function analyse(record: PassRecord): Analysis {
  const latencies: number[] = [];
  let fromStore = 0;
  let unanswered = 0;
  for (let i = 0; i < record.queuedAt.length; i++) {
    const answeredAt = record.answeredAt[i]!;
    if (Number.isNaN(answeredAt)) {
      unanswered += 1;
      continue;
    }
    latencies.push(answeredAt - record.queuedAt[i]!);
    // The 250 was in before this poll went out: the store answered at once, and the time
    // includes the waiter's own turnaround from its previous answer.
    if (record.queuedAt[i]! < record.polledAt[i]!) fromStore += 1;
  }
  const correct = record.crossInbox.length === 0 && unanswered === 0 && record.problems.length === 0;
  return { latencies, fromStore, unanswered, correct };
}

function render(figures: PassFigures, analysis: Analysis, settings: Settings, warmupMessages: number): string {
  const { record } = figures;
  const { latencies, fromStore, unanswered } = analysis;
  const count = record.queuedAt.length;
  const negative = latencies.filter((l) => l < 0).length;
  const p99 = percentile(latencies, 99);
  const rows = [
    ['answers', 'cross-inbox', 'unanswered', 'min', 'p50', 'p90', 'p99', 'max', 'sent/s', 'server CPU/msg', 'client CPU/msg', `p99 < ${TARGET_P99_MS} ms`],
    [
      formatInt(latencies.length),
      formatInt(record.crossInbox.length),
      formatInt(unanswered),
      ms(Math.min(...latencies)),
      ms(percentile(latencies, 50)),
      ms(percentile(latencies, 90)),
      ms(p99),
      ms(Math.max(...latencies)),
      formatInt(count / (figures.sendWallMs / 1000)),
      ms(figures.serverCpuMs / count),
      ms(figures.clientCpuMs / count),
      p99 < TARGET_P99_MS ? 'PASS' : 'MISS',
    ],
  ];
  return [
    `Long-poll waits: ${formatInt(settings.inboxes)} waiters, one per inbox w<i>@bench.test, each looping on ` +
      `GET /api/messages/wait?query=to:<inbox>&after=<its last answer>&timeout=${POLL_TIMEOUT_S} over its own keep-alive connection`,
    `${formatInt(count)} messages of ~${formatInt(MESSAGE_SIZE)} bytes (${settings.perInbox} per inbox, shuffled) at ${formatInt(settings.rate)}/s ` +
      `over ${settings.connections} pipelining SMTP connections; after ${formatInt(warmupMessages)} warm-up messages; ` +
      `loopback, Node ${process.version}, ${cpus().length} CPUs`,
    'Latency: the waiter has read the whole answer, minus the moment the SMTP client read that message\'s 250 (same process, same clock)',
    '',
    table(settings.smoke ? rows.map((row) => row.slice(0, -1)) : rows),
    '',
    `answered from the store at once (the 250 was in before the waiter re-armed): ${formatInt(fromStore)}`,
    `negative latencies (the answer was read before the 250): ${formatInt(negative)}` +
      (negative > 0
        ? '; Mailroom stores the message, and wakes the waits, before it writes the 250, and this process reads the HTTP and SMTP sockets in whatever order they become ready'
        : ''),
    `sending: slowest connection lagged ${ms(figures.maxLagMs)} behind its schedule; other processes used ${(figures.otherCpuShare * 100).toFixed(1)}% of the CPUs`,
    ...record.crossInbox.map((line) => `CROSS-INBOX: ${line}`),
    ...record.problems.map((line) => `PROBLEM: ${line}`),
    ...(settings.smoke
      ? []
      : ['', `target p99 < ${TARGET_P99_MS} ms with every message answered once, to its own inbox's waiter: ${analysis.correct && p99 < TARGET_P99_MS ? 'PASS' : 'MISS'}`]),
  ].join('\n');
}

async function main(): Promise<void> {
  const settings = readSettings();
  const messages = settings.inboxes * (settings.perInbox + settings.warmup);
  const watchdog = setTimeout(() => {
    process.stderr.write('bench: still running after the time limit, giving up\n');
    process.exit(1);
  }, 2 * 60_000 + 2 * POLL_TIMEOUT_S * 1000 + (messages * 1000) / settings.rate);
  watchdog.unref();

  const profile = settings.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${settings.cpuProfDir}`];
  const server = await MailroomChild.start(START_TIMEOUT_MS, profile);
  // One connection per waiter, all kept open across both passes; the default pool
  // would queue long polls behind each other, and drop idle connections between passes.
  const agent = new Agent({ keepAlive: true, maxSockets: settings.inboxes, maxFreeSockets: settings.inboxes });
  try {
    // The store starts empty, so cursor 0 sees exactly the warm-up's mail.
    const cursors = Array.from({ length: settings.inboxes }, () => '0');
    if (settings.warmup > 0) {
      const warm = await runPass(server, agent, makePlan('warm', settings.inboxes, settings.warmup), cursors, settings);
      const wrong = [...warm.record.crossInbox, ...warm.record.problems];
      if (wrong.length > 0) throw new Error(`the warm-up pass went wrong:\n${wrong.join('\n')}`);
    }
    const figures = await runPass(server, agent, makePlan('wait', settings.inboxes, settings.perInbox), cursors, settings);
    const analysis = analyse(figures.record);
    process.stdout.write(`${render(figures, analysis, settings, settings.inboxes * settings.warmup)}\n`);
    // A wrong or missing answer is a fault, not a slow figure: the exit status says so.
    if (!analysis.correct) process.exitCode = 1;
  } finally {
    agent.destroy();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
