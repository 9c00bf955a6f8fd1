import { cpus } from 'node:os';
import type { Fixture } from './maildir-fixture.js';
import { table, type LoadFigures } from './report.js';
import type { StartupFigures } from './startup-load.js';
import { formatBytes, formatInt, formatMs, formatPercent } from './stats.js';

export interface IngestFigures extends LoadFigures {
  rawBytesPerMessage: number;
}

export interface StartupRow {
  fixture: Fixture;
  load: StartupFigures;
}

export interface PersistenceInput {
  messages: number;
  connections: number;
  warmup: number;
  memory: IngestFigures;
  disk: IngestFigures;
  startup: readonly StartupRow[];
  /** Where the data directories were, for the reader to see they were temporary. */
  scratchDir: string;
  /** Whether to judge the figures: not in a smoke run, whose few messages say nothing about speed. */
  targets: boolean;
}

const TARGETS = {
  diskMessagesPerSecond: 1000,
  diskShareOfMemory: 0.4,
  /** The longest a start may take to load a data directory of so many messages. */
  startupMs: new Map([
    [10_000, 2000],
    [100_000, 15_000],
  ]),
};

export interface Verdict {
  target: string;
  /** The figure judged, as printed. */
  figure: string;
  ok: boolean;
}

const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');
const seconds = (ms: number): string => (ms / 1000).toFixed(2);

/** Each target and whether the run met it. */
export function persistenceVerdicts(input: PersistenceInput): Verdict[] {
  const rate = input.disk.messagesPerSecond;
  const share = rate / input.memory.messagesPerSecond;
  const verdicts: Verdict[] = [
    { target: `data dir throughput >= ${formatInt(TARGETS.diskMessagesPerSecond)} messages/s`, figure: formatInt(rate), ok: rate >= TARGETS.diskMessagesPerSecond },
    { target: `data dir throughput >= ${formatPercent(TARGETS.diskShareOfMemory, false)} of in memory`, figure: formatPercent(share, false), ok: share >= TARGETS.diskShareOfMemory },
  ];
  for (const { load } of input.startup) {
    const limit = TARGETS.startupMs.get(load.messages);
    const took = load.openMs + load.storeMs;
    if (limit !== undefined) verdicts.push({ target: `start-up with ${formatInt(load.messages)} messages < ${seconds(limit)} s`, figure: `${seconds(took)} s`, ok: took < limit });
  }
  return verdicts;
}

export function renderPersistenceReport(input: PersistenceInput): string {
  const { memory, disk } = input;
  const ingestRows: string[][] = [
    ['', 'in memory', 'data dir', 'data dir/in memory'],
    ['throughput (messages/s)', formatInt(memory.messagesPerSecond), formatInt(disk.messagesPerSecond), formatPercent(disk.messagesPerSecond / memory.messagesPerSecond, false)],
    ['end of DATA to 250, p50 / p99 (ms)', `${formatMs(memory.replyP50)} / ${formatMs(memory.replyP99)}`, `${formatMs(disk.replyP50)} / ${formatMs(disk.replyP99)}`, ''],
    ['end of DATA to live event, p50 / p99 (ms)', `${formatMs(memory.liveP50)} / ${formatMs(memory.liveP99)}`, `${formatMs(disk.liveP50)} / ${formatMs(disk.liveP99)}`, ''],
    ['server CPU per message (ms)', memory.cpuMsPerMessage.toFixed(3), disk.cpuMsPerMessage.toFixed(3), `${(disk.cpuMsPerMessage / memory.cpuMsPerMessage).toFixed(2)}x`],
    ['load client CPU per message (ms)', memory.clientCpuMsPerMessage.toFixed(3), disk.clientCpuMsPerMessage.toFixed(3), ''],
    ['other processes, share of all CPUs', formatPercent(memory.otherCpuShare, false), formatPercent(disk.otherCpuShare, false), ''],
  ];
  const startupRows: string[][] = [
    ['data directory', 'raw size', 'written in (s)', 'openMaildir (s)', 'new MessageStore (s)', 'start-up (s)', 'rss after'],
    ...input.startup.map(({ fixture, load }) => [
      `${formatInt(load.messages)} messages`,
      formatBytes(fixture.bytes),
      seconds(fixture.writeMs),
      seconds(load.openMs),
      seconds(load.storeMs),
      seconds(load.openMs + load.storeMs),
      formatBytes(load.rss),
    ]),
  ];
  const verdicts = input.targets ? persistenceVerdicts(input) : [];
  return [
    `SMTP persistence benchmark: ${formatInt(input.messages)} messages of ~${formatInt(disk.rawBytesPerMessage)} bytes over ${input.connections} connections, ` +
      `after ${formatInt(input.warmup)} warm-up messages, to Mailroom in memory and then with --data-dir; loopback, Node ${process.version}, ${cpus().length} CPUs`,
    `With --data-dir each 250 waits until its message is on disk (group commit). Data directories in ${input.scratchDir}, removed at the end.`,
    '',
    table(ingestRows),
    '',
    "Start-up: openMaildir + new MessageStore as Mailroom's start runs them, each load in a fresh Node process, on a data directory",
    'written beforehand (a file in new/ and a journal line per message) and synced, so read from the page cache; the store limits of',
    "the benchmark's server, so none is evicted. Each load held every message and byte written.",
    '',
    table(startupRows),
    ...(verdicts.length > 0 ? ['', table([['target', 'figure', ''], ...verdicts.map((v) => [v.target, v.figure, verdict(v.ok)])])] : []),
  ].join('\n');
}
