import { cpus } from 'node:os';
import { formatBytes, formatInt, formatMs, formatPercent } from './stats.js';

/** What both servers are measured on. */
export interface LoadFigures {
  messagesPerSecond: number;
  replyP50: number;
  replyP99: number;
  /** From end of DATA to the socket.io new-message event. */
  liveP50: number;
  liveP99: number;
  cpuMsPerMessage: number;
  /** The load generator's own CPU, to show whether it or the server was the limit. */
  clientCpuMsPerMessage: number;
  /** Share of the machine's CPU that other processes used during the run: noise in the figures. */
  otherCpuShare: number;
  pipelined: boolean;
}

export interface MailroomFigures extends LoadFigures {
  /** Mean stored size, as the server counts it. */
  rawBytesPerMessage: number;
  idle: NodeJS.MemoryUsage;
  loaded: NodeJS.MemoryUsage;
  cleared: NodeJS.MemoryUsage;
}

export interface ReportInput {
  messages: number;
  connections: number;
  warmup: number;
  mailroom: MailroomFigures;
  /** MailDev's figures, or why there are none. */
  maildev: LoadFigures | { skipped: string };
  maildevVersion: string;
  /** Whether to judge the figures against TARGETS: not in a smoke run, whose few messages say nothing about speed. */
  targets: boolean;
}

const TARGETS = {
  speedupOverMaildev: 4,
  cpuMsPerMessage: 0.25,
  overheadBytesPerMessage: 2048,
  clearedWithinOfIdle: 0.2,
};

/** Live data: V8 heap plus memory held outside it, buffers included. */
const held = (m: NodeJS.MemoryUsage): number => m.heapUsed + m.external;

const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');

export function renderReport(input: ReportInput): string {
  const { mailroom: mr, messages: n } = input;
  const md = 'skipped' in input.maildev ? null : input.maildev;
  const heapPerMessage = (held(mr.loaded) - held(mr.idle)) / n;
  const rssPerMessage = (mr.loaded.rss - mr.idle.rss) / n;
  const memoryBudget = mr.rawBytesPerMessage + TARGETS.overheadBytesPerMessage;
  const heapBack = held(mr.cleared) / held(mr.idle) - 1;
  const rssBack = mr.cleared.rss / mr.idle.rss - 1;
  const speedup = md ? mr.messagesPerSecond / md.messagesPerSecond : null;

  const rows: string[][] = [
    ['', 'Mailroom', `MailDev ${input.maildevVersion}`, 'Mailroom/MailDev', 'target', ''],
    [
      'throughput (messages/s)',
      formatInt(mr.messagesPerSecond),
      md ? formatInt(md.messagesPerSecond) : '-',
      speedup === null ? '-' : `${speedup.toFixed(2)}x`,
      `>= ${TARGETS.speedupOverMaildev}x MailDev`,
      speedup === null ? 'n/a' : verdict(speedup >= TARGETS.speedupOverMaildev),
    ],
    [
      'end of DATA to 250, p50 / p99 (ms)',
      `${formatMs(mr.replyP50)} / ${formatMs(mr.replyP99)}`,
      md ? `${formatMs(md.replyP50)} / ${formatMs(md.replyP99)}` : '-',
      '',
      '',
      '',
    ],
    [
      'end of DATA to live event, p50 / p99 (ms)',
      `${formatMs(mr.liveP50)} / ${formatMs(mr.liveP99)}`,
      md ? `${formatMs(md.liveP50)} / ${formatMs(md.liveP99)}` : '-',
      '',
      '',
      '',
    ],
    [
      'server CPU per message (ms)',
      mr.cpuMsPerMessage.toFixed(3),
      md ? md.cpuMsPerMessage.toFixed(3) : '-',
      md ? `${(mr.cpuMsPerMessage / md.cpuMsPerMessage).toFixed(2)}x` : '-',
      `<= ${TARGETS.cpuMsPerMessage}`,
      verdict(mr.cpuMsPerMessage <= TARGETS.cpuMsPerMessage),
    ],
    ['load client CPU per message (ms)', mr.clientCpuMsPerMessage.toFixed(3), md ? md.clientCpuMsPerMessage.toFixed(3) : '-', '', '', ''],
    [
      'other processes, share of all CPUs',
      formatPercent(mr.otherCpuShare, false),
      md ? formatPercent(md.otherCpuShare, false) : '-',
      '',
      '',
      '',
    ],
    ['raw bytes per message', formatInt(mr.rawBytesPerMessage), '', '', '', ''],
    [
      'memory per message, heap+external',
      formatInt(heapPerMessage),
      '',
      '',
      `<= raw + 2048 = ${formatInt(memoryBudget)}`,
      verdict(heapPerMessage <= memoryBudget),
    ],
    ['memory per message, rss', formatInt(rssPerMessage), '', '', '(reference)', ''],
    [
      'after delete-all vs idle, heap+external',
      formatPercent(heapBack),
      '',
      '',
      `within ${TARGETS.clearedWithinOfIdle * 100}%`,
      verdict(Math.abs(heapBack) <= TARGETS.clearedWithinOfIdle),
    ],
    ['after delete-all vs idle, rss', formatPercent(rssBack), '', '', '(reference)', ''],
  ];

  const memoryLine = (label: string, m: NodeJS.MemoryUsage): string =>
    `  ${label.padEnd(20)} rss ${formatBytes(m.rss).padStart(10)}   heap+external ${formatBytes(held(m)).padStart(10)}` +
    `   (heapUsed ${formatBytes(m.heapUsed)}, external ${formatBytes(m.external)}, of which arrayBuffers ${formatBytes(m.arrayBuffers)})`;

  const mode = (f: LoadFigures): string => (f.pipelined ? 'pipelined' : 'one command at a time');
  return [
    `SMTP benchmark: ${formatInt(n)} messages of ~${formatInt(mr.rawBytesPerMessage)} bytes over ${input.connections} connections, ` +
      `after ${formatInt(input.warmup)} warm-up messages; loopback, Node ${process.version}, ${cpus().length} CPUs`,
    `SMTP client: Mailroom ${mode(mr)}${md ? `, MailDev ${mode(md)}` : ''}; a socket.io client on each server's live events ` +
      '(Mailroom message:new, MailDev newMail)',
    ...(md
      ? ['MailDev writes each message to disk and parses it on arrival, so this is not a like-for-like comparison with Mailroom\'s in-memory store.']
      : []),
    '',
    table(input.targets ? rows : rows.map((row) => row.slice(0, -2))),
    '',
    `Mailroom memory after gc (${formatInt(n)} messages):`,
    memoryLine('idle', mr.idle),
    memoryLine(`with ${formatInt(n)} messages`, mr.loaded),
    memoryLine('after delete-all', mr.cleared),
    ...('skipped' in input.maildev ? ['', `MailDev comparison skipped: ${input.maildev.skipped}`] : []),
  ].join('\n');
}

/** Columns padded to their widest cell, the first left-aligned, numbers right-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: string[]): string =>
    row
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('   ')
      .trimEnd();
  const [head, ...body] = rows;
  return [line(head!), widths.map((w) => '-'.repeat(w)).join('   '), ...body.map(line)].join('\n');
}
