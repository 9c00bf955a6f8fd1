import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { dovecotBinary, startDovecot, type Dovecot, type ImapReply } from '../test/helpers/dovecot/dovecot.js';
import { CHILD_MAX_MESSAGES } from './lib/child-protocol.js';
import { makeCorpus, SEARCH_WORD, type CorpusMessage } from './lib/imap-corpus.js';
import { renderImapReport, type CommandFigures, type ImapReportInput, type ScaleFigures, type ServerRuns } from './lib/imap-report.js';
import {
  bodyOutcome,
  dovecotCpuMs,
  ImapBenchSession,
  metadataOutcome,
  searchOutcome,
  sortOutcome,
  uidMap,
  type Outcome,
} from './lib/imap-session.js';
import { MailroomChild } from './lib/mailroom-child.js';
import { countOption } from './lib/options.js';
import { runLoad } from './lib/smtp-load.js';

/*
 * npm run bench:imap [-- --messages N --runs N --smoke]
 * (or BENCH_MESSAGES, BENCH_RUNS in the environment)
 *
 * N messages of everyday ~4 KB mail (bench/lib/imap-corpus.ts) go into
 * Mailroom, running in a child process and loaded over SMTP, and into a
 * throwaway Dovecot 2.3 (test/helpers/dovecot/dovecot.ts), whose Maildir is
 * written directly, both in the same order. Over one IMAP connection to
 * each, four commands are timed: a warm-up run on each server, then the
 * timed runs alternating between them; the medians are compared, and each
 * server's results must match the other's. Then Mailroom alone with 2N
 * messages for (a) and (c): the time per message should stay about the same.
 * --smoke does it all, Dovecot included (it starts in well under a second),
 * with 100 messages, one timed run and no target, so that
 * test/integration/bench-smoke.test.ts can keep this script working in seconds.
 */

const START_TIMEOUT_MS = 30_000;
const REPLY_TIMEOUT_MS = 60_000;
/** Any user name sees every captured message in Mailroom's INBOX (no --imap-auth). */
const MAILROOM_USER = 'bench';

interface Settings {
  messages: number;
  runs: number;
  smoke: boolean;
}

function readSettings(): Settings {
  const { values } = parseArgs({ options: { messages: { type: 'string' }, runs: { type: 'string' }, smoke: { type: 'boolean', default: false } } });
  const smoke = values.smoke;
  return {
    messages: countOption('messages', values.messages ?? process.env.BENCH_MESSAGES, smoke ? 100 : 10_000, 1, CHILD_MAX_MESSAGES / 2),
    runs: countOption('runs', values.runs ?? process.env.BENCH_RUNS, smoke ? 1 : 5, 1, 101),
    smoke,
  };
}

/** One timed command: how to send it and how to reduce its reply to a comparable outcome. */
interface Spec {
  label: string;
  command: string;
  outcome: (reply: ImapReply, seqByUid: ReadonlyMap<number, number>) => Outcome & { octets?: number };
}

const specs = (total: number): Spec[] => [
  { label: 'a) FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)', command: 'FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)', outcome: metadataOutcome },
  { label: `b) UID SEARCH TEXT ${SEARCH_WORD}`, command: `UID SEARCH TEXT ${SEARCH_WORD}`, outcome: (reply, seqByUid) => searchOutcome(reply, seqByUid, total) },
  { label: 'c) SORT (REVERSE DATE) UTF-8 ALL', command: 'SORT (REVERSE DATE) UTF-8 ALL', outcome: sortOutcome },
  { label: 'd) FETCH 1:* BODY.PEEK[]', command: 'FETCH 1:* BODY.PEEK[]', outcome: bodyOutcome },
];

/** A server as the timing loop sees it: its session and the UID-to-sequence map its FETCH (a) gave. */
interface Target {
  name: string;
  session: ImapBenchSession;
  seqByUid: Map<number, number>;
}

/**
 * Runs one command on one server and keeps only what the report needs, so
 * that no run's whole reply (40 MB for BODY[]) outlives it. Every run of a
 * server must give the outcome its first run gave.
 */
async function measure(target: Target, spec: Spec, runs: ServerRuns): Promise<void> {
  const run = await target.session.run(spec.command);
  // The first reply is FETCH (a)'s, which carries every UID: (b)'s UIDs become sequence numbers through it.
  if (target.seqByUid.size === 0) for (const [uid, seq] of uidMap(run.reply)) target.seqByUid.set(uid, seq);
  const outcome = spec.outcome(run.reply, target.seqByUid);
  if (runs.outcome === null) {
    runs.outcome = outcome;
    runs.octets = outcome.octets ?? 0;
    runs.warmMs = run.ms;
    return;
  }
  if (outcome.key !== runs.outcome.key) {
    throw new Error(`${target.name} ${spec.command}: one run gave ${outcome.summary}, an earlier one ${runs.outcome.summary}`);
  }
  runs.samples.push({ ms: run.ms, serverCpuMs: run.serverCpuMs, clientCpuMs: run.clientCpuMs, othersCpuMs: run.othersCpuMs });
}

const emptyRuns = (): ServerRuns => ({ outcome: null, octets: 0, warmMs: 0, samples: [] });

/** Each command: a warm-up run per server, then `runs` timed rounds, the server that goes first alternating. */
async function compare(targets: readonly Target[], total: number, runs: number): Promise<CommandFigures[]> {
  const figures: CommandFigures[] = [];
  for (const spec of specs(total)) {
    const perServer = targets.map(emptyRuns);
    for (let round = 0; round <= runs; round++) {
      const order = round % 2 === 0 ? targets.map((_, i) => i) : targets.map((_, i) => targets.length - 1 - i);
      for (const i of order) await measure(targets[i]!, spec, perServer[i]!);
    }
    figures.push({ label: spec.label, runs: perServer });
  }
  return figures;
}

/** Mailroom in its child, loaded over SMTP; resolves with its IMAP port and version from GET /api/info. */
async function startLoadedMailroom(messages: readonly CorpusMessage[]): Promise<{ server: MailroomChild; imapPort: number; version: string; loadMs: number }> {
  const server = await MailroomChild.start(START_TIMEOUT_MS);
  try {
    // One connection, so the store's order (and so the sequence numbers) is the corpus order, as in Dovecot.
    const load = await runLoad({ host: '127.0.0.1', port: server.smtpPort, messages, connections: 1, replyTimeoutMs: REPLY_TIMEOUT_MS });
    const response = await fetch(`${server.apiUrl}/api/info`);
    if (!response.ok) throw new Error(`GET /api/info: HTTP ${response.status}`);
    const info = (await response.json()) as { version: string; messages: number; ports: Record<string, number> };
    if (info.messages !== messages.length) throw new Error(`Mailroom holds ${info.messages} messages after the load, expected ${messages.length}`);
    const imapPort = info.ports.imap;
    if (imapPort === undefined) throw new Error(`Mailroom reports no IMAP listener: ${JSON.stringify(info.ports)}`);
    return { server, imapPort, version: info.version, loadMs: load.wallMs };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

async function openMailroom(imapPort: number, server: MailroomChild): Promise<ImapBenchSession> {
  return ImapBenchSession.open(imapPort, MAILROOM_USER, MAILROOM_USER, () => server.cpuMs(), REPLY_TIMEOUT_MS);
}

async function compareWithDovecot(corpus: readonly CorpusMessage[], settings: Settings): Promise<Omit<ImapReportInput, 'scale' | 'corpus' | 'loadAverage' | 'targets'>> {
  const dovecotStart = performance.now();
  const dovecot: Dovecot = await startDovecot(corpus.map((message) => message.raw), { startTimeoutMs: START_TIMEOUT_MS });
  try {
    const dovecotStartMs = performance.now() - dovecotStart;
    const mailroom = await startLoadedMailroom(corpus);
    try {
      const targets: Target[] = [
        { name: 'Mailroom', session: await openMailroom(mailroom.imapPort, mailroom.server), seqByUid: new Map() },
        {
          name: 'Dovecot',
          session: await ImapBenchSession.open(dovecot.imapPort, dovecot.user, dovecot.password, dovecotCpuMs(join(dovecot.dir, 'dovecot.conf')), REPLY_TIMEOUT_MS),
          seqByUid: new Map(),
        },
      ];
      const commands = await compare(targets, corpus.length, settings.runs);
      await Promise.all(targets.map((target) => target.session.logout()));
      return {
        runs: settings.runs,
        mailroomVersion: mailroom.version,
        mailroomLoadMs: mailroom.loadMs,
        dovecotVersion: execFileSync(dovecotBinary(), ['--version'], { encoding: 'utf8' }).trim(),
        dovecotStartMs,
        commands,
      };
    } finally {
      await mailroom.server.stop();
    }
  } finally {
    await dovecot.stop();
  }
}

/** Mailroom alone with `corpus` (2N messages): (a) and (c) timed the same way, for the time per message. */
async function scaleRun(corpus: readonly CorpusMessage[], settings: Settings): Promise<ScaleFigures> {
  const mailroom = await startLoadedMailroom(corpus);
  try {
    const target: Target = { name: 'Mailroom', session: await openMailroom(mailroom.imapPort, mailroom.server), seqByUid: new Map() };
    const [metadata, , sort] = specs(corpus.length);
    const figures: CommandFigures[] = [];
    for (const spec of [metadata!, sort!]) {
      const runs = emptyRuns();
      for (let round = 0; round <= settings.runs; round++) await measure(target, spec, runs);
      figures.push({ label: spec.label, runs: [runs] });
    }
    await target.session.logout();
    return { messages: corpus.length, loadMs: mailroom.loadMs, commands: figures };
  } finally {
    await mailroom.server.stop();
  }
}

async function main(): Promise<void> {
  const settings = readSettings();
  const loadAverage = loadavg()[0]!;
  const watchdog = setTimeout(() => {
    process.stderr.write('bench: still running after the time limit, giving up\n');
    process.exit(1);
  }, 3 * 60_000 + settings.messages * 30);
  watchdog.unref();

  // The larger run's first N messages are the compared ones: message i depends on i alone.
  const corpus = makeCorpus(settings.messages * 2);
  const compared = corpus.slice(0, settings.messages);
  const comparison = await compareWithDovecot(compared, settings);
  const scale = await scaleRun(corpus, settings);
  const report = renderImapReport({ ...comparison, corpus: compared, loadAverage, scale, targets: !settings.smoke });
  process.stdout.write(`${report.text}\n`);
  if (report.mismatches > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
