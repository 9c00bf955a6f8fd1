import { cpus, loadavg } from 'node:os';
import type { FirstRowsSample } from './browser.js';
import { formatBytes, formatInt, formatMs, formatPercent, percentile } from './stats.js';
import { table } from './report.js';

export const WEB_TARGETS = {
  /** Every load's first row painted within this many ms of navigation start. */
  firstRowsMs: 500,
  /** p99 from the end of DATA to the new message's row painted. */
  liveRowP99Ms: 300,
};

/** Per live message, in ms; NaN where the page never showed it. */
export interface LiveSample {
  dotToReply: number;
  dotToFrame: number;
  frameToDom: number;
  dotToDom: number;
  dotToPaint: number;
  dotToShown: number;
  /** To the presentation time, or where there is none to the paint estimate. */
  dotToOnScreen: number;
  replyToOnScreen: number;
}

export interface WebReportInput {
  messages: number;
  rawBytesPerMessage: number;
  loadMs: number;
  loadConnections: number;
  serverHeapBytes: number;
  chromiumVersion: string;
  /** The machine's 1-minute load average just before Chromium started: other work skews the figures. */
  loadAverage: number;
  /** Share of all CPUs that other processes used during each part: noise in the figures. */
  othersFirstRows: number;
  othersLive: number;
  url: string;
  cold: FirstRowsSample[];
  warm: FirstRowsSample[];
  live: LiveSample[];
  liveInterval: number;
  /** Page clock against Node's, before and after the live sends. */
  clockBefore: { offsetMs: number; uncertaintyMs: number };
  clockAfter: { offsetMs: number; uncertaintyMs: number };
  /** Whether to judge the figures against WEB_TARGETS: not in a smoke run, whose few samples say nothing. */
  targets: boolean;
}

const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');
const median = (values: number[]): number => percentile(values, 50);
const max = (values: number[]): number => (values.length === 0 ? Number.NaN : Math.max(...values));
const ms = (value: number): string => (Number.isFinite(value) ? formatMs(value) : '-');

export function renderWebReport(input: WebReportInput): string {
  const { cold, warm, live } = input;
  type Figure = Exclude<keyof FirstRowsSample, 'otherRequests'>;
  const pick = (samples: FirstRowsSample[], key: Figure): number[] => samples.map((s) => s[key]).filter(Number.isFinite);
  const pickRequest = (samples: FirstRowsSample[], path: string): number[] =>
    samples.map((s) => s.otherRequests[path]?.end).filter((t): t is number => t !== undefined && Number.isFinite(t));
  const coldPaint = pick(cold, 'firstRowOnScreen');
  const warmPaint = pick(warm, 'firstRowOnScreen');
  const loads = [...cold, ...warm];
  const loadsWithoutShown = loads.filter((s) => !Number.isFinite(s.firstRowShown)).length;

  const firstRows: string[][] = [
    ['first rows (ms from navigation start)', 'cold median', 'cold max', 'warm median', 'warm max', 'target', ''],
    [
      'first row on screen',
      ms(median(coldPaint)),
      ms(max(coldPaint)),
      ms(median(warmPaint)),
      ms(max(warmPaint)),
      `max < ${WEB_TARGETS.firstRowsMs}`,
      verdict(coldPaint.length === cold.length && warmPaint.length === warm.length && max(coldPaint) < WEB_TARGETS.firstRowsMs && max(warmPaint) < WEB_TARGETS.firstRowsMs),
    ],
  ];
  const breakdown: [string, Figure][] = [
    ['  HTML received', 'htmlEnd'],
    ['  script bundle requested', 'scriptStart'],
    ['  script bundle received', 'scriptEnd'],
    ['  DOMContentLoaded (app mounted)', 'domContentLoaded'],
    ['  GET /api/messages sent (socket.io up)', 'listRequestStart'],
    ['  GET /api/messages received', 'listResponseEnd'],
    ['  first row in the DOM', 'firstRowDom'],
    ['  next frame begins', 'firstRowFrame'],
    ['  that frame produced (rAF + posted task)', 'firstRowPainted'],
    ['  first row presented (Element Timing)', 'firstRowShown'],
    ['  on screen, from the page.goto() call in Node', 'fromGotoCall'],
  ];
  for (const [label, key] of breakdown) {
    firstRows.push([label, ms(median(pick(cold, key))), ms(max(pick(cold, key))), ms(median(pick(warm, key))), ms(max(pick(warm, key))), '', '']);
  }
  // Other API calls the page made before its first row, in parallel with the list: listed after it, as they may compete with it.
  const otherPaths = [...new Set(loads.flatMap((s) => Object.keys(s.otherRequests)))].sort();
  const listRow = firstRows.findIndex((row) => row[0] === '  GET /api/messages received');
  firstRows.splice(
    listRow + 1,
    0,
    ...otherPaths.map((path) => [
      `  GET ${path} received (in parallel)`,
      ms(median(pickRequest(cold, path))),
      ms(max(pickRequest(cold, path))),
      ms(median(pickRequest(warm, path))),
      ms(max(pickRequest(warm, path))),
      '',
      '',
    ]),
  );
  const rowsAtFirst = median(pick(cold, 'rowsAtFirst'));
  const listBytes = median(pick(cold, 'listBytes'));

  const missing = live.filter((s) => !Number.isFinite(s.dotToOnScreen)).length;
  const liveWithoutShown = live.filter((s) => Number.isFinite(s.dotToPaint) && !Number.isFinite(s.dotToShown)).length;
  const column = (key: keyof LiveSample): number[] => live.map((s) => s[key]).filter(Number.isFinite);
  // A row that never appeared counts as infinitely late, so it can only push p99 up.
  const onScreen = live.map((s) => (Number.isFinite(s.dotToOnScreen) ? s.dotToOnScreen : Number.POSITIVE_INFINITY));
  const p99 = percentile(onScreen, 99);
  const liveRows: string[][] = [
    [`live rows (ms), ${formatInt(live.length)} messages`, 'p50', 'p99', 'max', 'target', ''],
    [
      'end of DATA -> row on screen',
      ms(percentile(onScreen, 50)),
      ms(p99),
      ms(max(onScreen)),
      `p99 < ${WEB_TARGETS.liveRowP99Ms}`,
      verdict(missing === 0 && p99 < WEB_TARGETS.liveRowP99Ms),
    ],
  ];
  const liveBreakdown: [string, keyof LiveSample][] = [
    ['  end of DATA -> 250 in Node', 'dotToReply'],
    ['  end of DATA -> socket.io frame in the page', 'dotToFrame'],
    ['  socket.io frame -> row in the DOM', 'frameToDom'],
    ['  end of DATA -> row in the DOM', 'dotToDom'],
    ['  end of DATA -> next frame produced', 'dotToPaint'],
    ['  end of DATA -> row presented (Element Timing)', 'dotToShown'],
    ['  250 in Node -> row on screen', 'replyToOnScreen'],
  ];
  for (const [label, key] of liveBreakdown) {
    const values = column(key);
    liveRows.push([label, ms(percentile(values, 50)), ms(percentile(values, 99)), ms(max(values)), '', '']);
  }

  const drift = input.clockAfter.offsetMs - input.clockBefore.offsetMs;
  const tableOf = (rows: string[][]): string => table(input.targets ? rows : rows.map((row) => row.slice(0, -2)));
  return [
    `Web inbox benchmark: ${formatInt(input.messages)} stored messages of ~${formatInt(input.rawBytesPerMessage)} bytes ` +
      `(loaded in ${(input.loadMs / 1000).toFixed(1)} s over ${input.loadConnections} SMTP connections; server heap+external after gc ${formatBytes(input.serverHeapBytes)})`,
    `Chromium ${input.chromiumVersion} headless, ${input.url}, loopback, Node ${process.version}, ${cpus().length} CPUs ` +
      `(1-minute load average ${input.loadAverage.toFixed(2)} before the browser started, ${loadavg()[0]!.toFixed(2)} at the end)`,
    `Other processes (not this benchmark, Mailroom or Chromium) used ${formatPercent(input.othersFirstRows, false)} of all CPUs ` +
      `during the first-rows loads and ${formatPercent(input.othersLive, false)} during the live sends.`,
    '',
    `First rows: ${cold.length} cold loads (a new browser context each: empty cache, new connections) and ${warm.length} warm loads ` +
      '(a new page in one context that had loaded the inbox before), after one uncounted load. ' +
      `At the first row the DOM held ${formatInt(rowsAtFirst)} rows; the list response was ${formatBytes(listBytes)}.`,
    '',
    tableOf(firstRows),
    '',
    `Live rows: one message at a time over one SMTP connection, one started every ${input.liveInterval} ms, to an open inbox; ` +
      `${missing === 0 ? 'every row appeared' : `${missing} rows never appeared (counted as infinitely late)`}.`,
    `Page clock mapped to Node's by round trips: offset ${input.clockBefore.offsetMs.toFixed(2)} ms +/- ${input.clockBefore.uncertaintyMs.toFixed(2)} ms ` +
      `before, drift ${drift.toFixed(2)} ms (+/- ${input.clockAfter.uncertaintyMs.toFixed(2)}) by the end.`,
    '',
    tableOf(liveRows),
    '',
    '"On screen": Chromium\'s Element Timing renderTime for the row\'s text, when the frame showing it was presented; where',
    'Chromium reported none, the end of the first frame after the row entered the DOM (requestAnimationFrame, then a posted task),',
    `used for ${loadsWithoutShown} of ${loads.length} loads and ${liveWithoutShown} of ${live.length - missing} live rows. ` +
      '"In the DOM": the MutationObserver callback that first saw the row.',
  ].join('\n');
}
