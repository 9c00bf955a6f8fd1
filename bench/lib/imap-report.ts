import { cpus, loadavg } from 'node:os';
import type { CorpusMessage } from './imap-corpus.js';
import { SEARCH_WORD } from './imap-corpus.js';
import { firstDifference, type Outcome } from './imap-session.js';
import { table } from './report.js';
import { formatInt, formatMs, percentile } from './stats.js';

/** Mailroom's time on every command within this factor of Dovecot's. */
const TARGET_RATIO = 2;

export interface RunSample {
  ms: number;
  serverCpuMs: number;
  clientCpuMs: number;
  othersCpuMs: number;
}

/** One server's runs of one command. */
export interface ServerRuns {
  /** What the warm-up run returned, which every timed run matched; null before it. */
  outcome: Outcome | null;
  /** BODY[] octets returned, for MB/s; 0 for the other commands. */
  octets: number;
  warmMs: number;
  samples: RunSample[];
}

export interface CommandFigures {
  label: string;
  /** Mailroom's, then Dovecot's where compared. */
  runs: ServerRuns[];
}

export interface ScaleFigures {
  messages: number;
  loadMs: number;
  /** (a) and (c), Mailroom only. */
  commands: CommandFigures[];
}

export interface ImapReportInput {
  corpus: readonly CorpusMessage[];
  /** The machine's 1-minute load average before anything started: other work skews the figures. */
  loadAverage: number;
  runs: number;
  mailroomVersion: string;
  mailroomLoadMs: number;
  dovecotVersion: string;
  dovecotStartMs: number;
  /** (a) to (d), both servers. */
  commands: CommandFigures[];
  scale: ScaleFigures;
  /** Whether to judge the ratios against TARGET_RATIO: not in a smoke run, whose few messages say nothing about speed. */
  targets: boolean;
}

const median = (runs: ServerRuns, key: keyof RunSample): number => percentile(runs.samples.map((s) => s[key]), 50);
const ms = (value: number): string => `${formatMs(value)} ms`;
const share = (part: number, whole: number): string => `${Math.round((part / whole) * 100)}%`;

function rate(runs: ServerRuns, messages: number): string {
  const seconds = median(runs, 'ms') / 1000;
  const perSecond = `${formatInt(messages / seconds)} msg/s`;
  return runs.octets > 0 ? `${(runs.octets / 1e6 / seconds).toFixed(1)} MB/s, ${perSecond}` : perSecond;
}

export function renderImapReport(input: ImapReportInput): { text: string; mismatches: number } {
  const { corpus, commands, scale } = input;
  const n = corpus.length;
  const bytes = corpus.reduce((sum, m) => sum + m.raw.length, 0);
  const shapes = (shape: CorpusMessage['shape']): string => share(corpus.filter((m) => m.shape === shape).length, n);
  const withWord = corpus.filter((m) => m.hasWord).length;

  let misses = 0;
  const timing: string[][] = [['command', 'Mailroom', 'Dovecot', 'Mailroom/Dovecot', 'Mailroom rate', 'Dovecot rate', 'target', '']];
  for (const { label, runs } of commands) {
    const [mailroom, dovecot] = runs as [ServerRuns, ServerRuns];
    const ratio = median(mailroom, 'ms') / median(dovecot, 'ms');
    const pass = ratio <= TARGET_RATIO;
    if (!pass) misses++;
    timing.push([label, ms(median(mailroom, 'ms')), ms(median(dovecot, 'ms')), `${ratio.toFixed(2)}x`, rate(mailroom, n), rate(dovecot, n), `<= ${TARGET_RATIO}x`, pass ? 'PASS' : 'MISS']);
  }

  const cpu: string[][] = [['command (ms)', 'warm-up run M / D', 'server CPU M / D', 'client CPU M / D', 'other processes M / D', 'timed runs M (min-max)', 'timed runs D (min-max)']];
  for (const { label, runs } of commands) {
    const [mailroom, dovecot] = runs as [ServerRuns, ServerRuns];
    const pair = (key: keyof RunSample): string => `${formatMs(median(mailroom, key))} / ${formatMs(median(dovecot, key))}`;
    const spread = (r: ServerRuns): string => `${formatMs(Math.min(...r.samples.map((s) => s.ms)))}-${formatMs(Math.max(...r.samples.map((s) => s.ms)))}`;
    cpu.push([label.slice(0, 2), `${formatMs(mailroom.warmMs)} / ${formatMs(dovecot.warmMs)}`, pair('serverCpuMs'), pair('clientCpuMs'), pair('othersCpuMs'), spread(mailroom), spread(dovecot)]);
  }

  const mismatchLines: string[] = [];
  const results: string[][] = [['result', 'Mailroom', 'Dovecot', '']];
  for (const { label, runs } of commands) {
    const [mailroom, dovecot] = runs.map((r) => r.outcome!) as [Outcome, Outcome];
    const same = mailroom.key === dovecot.key;
    if (!same) mismatchLines.push(`!!! MISMATCH ${label}: Mailroom ${mailroom.summary}, Dovecot ${dovecot.summary}; ${firstDifference(mailroom.key, dovecot.key)}`);
    results.push([label.slice(0, 2), mailroom.summary, dovecot.summary, same ? 'same' : '!!! MISMATCH']);
  }

  const [metadata, , sort] = commands;
  const scaleRows: string[][] = [['Mailroom only', 'SMTP load', 'a) median', 'a) µs/message', 'a) server CPU µs/message', 'c) median', 'c) µs/message', 'c) server CPU µs/message']];
  const perMessageUs = (runs: ServerRuns, key: keyof RunSample, messages: number): number => (median(runs, key) * 1000) / messages;
  const small = [metadata!.runs[0]!, sort!.runs[0]!];
  const large = scale.commands.map((c) => c.runs[0]!);
  for (const [messages, loadMs, runs] of [
    [n, input.mailroomLoadMs, small],
    [scale.messages, scale.loadMs, large],
  ] as const) {
    scaleRows.push([
      `${formatInt(messages)} messages`,
      `${(loadMs / 1000).toFixed(1)} s`,
      ...runs.flatMap((r) => [ms(median(r, 'ms')), perMessageUs(r, 'ms', messages).toFixed(2), perMessageUs(r, 'serverCpuMs', messages).toFixed(2)]),
    ]);
  }
  const growth = (i: number, key: keyof RunSample): string => (perMessageUs(large[i]!, key, scale.messages) / perMessageUs(small[i]!, key, n)).toFixed(2);
  if (large.some((runs) => runs.outcome!.count !== scale.messages)) mismatchLines.push(`!!! MISMATCH with ${formatInt(scale.messages)} messages: (a) gave ${large[0]!.outcome!.summary}, (c) ${large[1]!.outcome!.summary}`);

  const text = [
    `IMAP benchmark: ${formatInt(n)} messages, ${(bytes / 1e6).toFixed(1)} MB (mean ${formatInt(bytes / n)} bytes; ${shapes('plain')} text/plain, ` +
      `${shapes('alternative')} multipart/alternative, ${shapes('attachment')} multipart/mixed with a PDF; "${SEARCH_WORD}" in the text of ${formatInt(withWord)})`,
    `Mailroom ${input.mailroomVersion} in a child process, loaded over one SMTP connection in ${(input.mailroomLoadMs / 1000).toFixed(1)} s; ` +
      `Dovecot ${input.dovecotVersion}, Maildir written directly, up in ${(input.dovecotStartMs / 1000).toFixed(1)} s; same messages in the same order.`,
    `Loopback, Node ${process.version}, ${cpus().length} CPUs, 1-minute load average ${input.loadAverage.toFixed(2)} before the start and ${loadavg()[0]!.toFixed(2)} at the end.`,
    'One IMAP connection to each server (LOGIN, EXAMINE INBOX), the same client (test/helpers/dovecot/imap-client.ts) reading both.',
    'Per command: one untimed warm-up run on each server, in which Dovecot builds its dovecot.index.cache and Mailroom caches each',
    `message's parsed structure and search text (and V8 optimises its code); then ${input.runs} timed runs alternating which server goes first.`,
    'Medians, from writing the command to its tagged OK. MB = 10^6 octets of BODY[].',
    '',
    table(input.targets ? timing : timing.map((row) => row.slice(0, -2))),
    '',
    ...(input.targets ? [`target: Mailroom within ${TARGET_RATIO}x of Dovecot on every line: ${misses === 0 ? 'PASS' : `MISS (${misses} of ${commands.length} lines)`}`, ''] : []),
    'Where the time went (medians of the timed runs; Dovecot\'s CPU is all its processes, from /proc in whole ticks):',
    table(cpu),
    '',
    'Results (every timed run matched its warm-up run; SEARCH UIDs as sequence numbers):',
    table(results),
    ...(mismatchLines.length > 0 ? ['', ...mismatchLines] : []),
    '',
    table(scaleRows),
    '',
    `time per message, ${formatInt(scale.messages)} vs ${formatInt(n)}: a) ${growth(0, 'ms')}x (server CPU ${growth(0, 'serverCpuMs')}x), ` +
      `c) ${growth(1, 'ms')}x (server CPU ${growth(1, 'serverCpuMs')}x)`,
    `(1.00 is linear; a quadratic step would show about 2x; n log n alone gives ${(Math.log(scale.messages) / Math.log(n)).toFixed(2)}x; ` +
      'server CPU is the steadier figure on a busy machine)',
  ].join('\n');
  return { text, mismatches: mismatchLines.length };
}
