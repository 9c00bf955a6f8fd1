import { performance as nodePerformance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/*
 * Chromium as test/e2e/inbox.test.ts drives it, plus a probe that every
 * document gets before its own scripts run (context.addInitScript): it
 * timestamps, with the page's own clock, when each `button.row[data-id]`
 * first exists in the DOM and the frame after which it was painted, and
 * when each socket.io `message:new` frame arrived. Nothing is polled over
 * the DevTools protocol while a measurement runs; the figures are read once
 * it is over.
 */

export const CHROMIUM = '/usr/bin/chromium';

/** The rows the inbox shows, however the list is built: only these are relied upon. */
const ROW_SELECTOR = 'button.row[data-id]';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // The benchmark's own SIGINT/SIGTERM handlers exit the process, and Playwright's
    // exit hook then kills the browser, so Playwright need not handle signals itself.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Page-side times, from the page's performance.now(): milliseconds since its navigation started. */
export interface RowStamp {
  /** When the row was first in the DOM (a MutationObserver callback, before any rendering). */
  dom: number;
  /** When the next animation frame began: style, layout and paint of the row follow it. */
  raf?: number;
  /** A task posted from that frame's requestAnimationFrame: it runs once the frame has been produced. */
  paint?: number;
  /** Element Timing's renderTime for the row's text: when Chromium presented the frame that showed it. */
  shown?: number;
}

/** Element Timing entries (not in TypeScript's DOM library). */
interface ElementTimingEntry extends PerformanceEntry {
  renderTime: number;
  element: Element | null;
}

interface Probe {
  rows: Map<string, RowStamp>;
  first: RowStamp | null;
  rowsAtFirst: number;
  /** socket.io `message:new` frames by message id, when the WebSocket delivered them. */
  frames: Map<string, number>;
  firstPainted: Promise<void>;
}

type ProbeWindow = Window & { __mailroomBench?: Probe };

/**
 * Runs in the page (serialised by Playwright), so it must refer to nothing outside itself.
 * A row reused for another message (as a virtualised list may do) is caught by its data-id change.
 */
function installProbe(selector: string): void {
  const win = window as ProbeWindow;
  if (win.__mailroomBench) return;
  let resolveFirst = (): void => undefined;
  const probe: Probe = {
    rows: new Map(),
    first: null,
    rowsAtFirst: 0,
    frames: new Map(),
    firstPainted: new Promise<void>((resolve) => (resolveFirst = resolve)),
  };
  win.__mailroomBench = probe;

  let batch: RowStamp[] = [];
  let scheduled = false;
  const onFrame = (): void => {
    const raf = performance.now();
    const done = batch;
    batch = [];
    scheduled = false;
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      const paint = performance.now();
      for (const stamp of done) {
        stamp.raf = raf;
        stamp.paint = paint;
      }
      channel.port1.close();
      if (probe.first?.paint !== undefined) resolveFirst();
    };
    channel.port2.postMessage(null);
  };
  const note = (element: Element, at: number): void => {
    const id = element.getAttribute('data-id');
    if (!id || probe.rows.has(id)) return;
    // Asks Chromium for an Element Timing entry when this row's text is first presented;
    // text is reported through the element holding it, so every element of the row is marked.
    for (const marked of [element, ...element.querySelectorAll('*')]) {
      if (!marked.hasAttribute('elementtiming')) marked.setAttribute('elementtiming', 'mailroom-bench-row');
    }
    const stamp: RowStamp = { dom: at };
    probe.rows.set(id, stamp);
    batch.push(stamp);
    if (probe.first === null) {
      probe.first = stamp;
      probe.rowsAtFirst = document.querySelectorAll(selector).length;
    }
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(onFrame);
    }
  };
  new MutationObserver((records) => {
    const at = performance.now();
    for (const record of records) {
      if (record.type === 'attributes') {
        if (record.target instanceof Element && record.target.matches(selector)) note(record.target, at);
        continue;
      }
      for (const node of record.addedNodes) {
        if (!(node instanceof Element)) continue;
        if (node.matches(selector)) note(node, at);
        for (const row of node.querySelectorAll(selector)) note(row, at);
      }
    }
  }).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-id'] });

  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries() as ElementTimingEntry[]) {
        const id = entry.element?.closest(selector)?.getAttribute('data-id');
        const stamp = id ? probe.rows.get(id) : undefined;
        if (stamp && stamp.shown === undefined && entry.renderTime > 0) stamp.shown = entry.renderTime;
      }
    }).observe({ type: 'element', buffered: true });
  } catch {
    // No Element Timing in this browser: the frame-based paint times remain.
  }

  // Our listener is added in the constructor, before socket.io sets onmessage, so it runs first.
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener('message', (event: MessageEvent) => {
        const at = performance.now();
        if (typeof event.data !== 'string' || !event.data.startsWith('42["message:new"')) return;
        try {
          const id = (JSON.parse(event.data.slice(2)) as [string, { id?: unknown }])[1].id;
          if (typeof id === 'string' && !probe.frames.has(id)) probe.frames.set(id, at);
        } catch {
          // Not a frame this probe understands: it only loses a breakdown figure.
        }
      });
    }
  };
}

export async function newProbedContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext();
  await context.addInitScript(installProbe, ROW_SELECTOR);
  return context;
}

/** Node's clock as milliseconds since the epoch, comparable with the page's timeOrigin + now(). */
export const nodeEpochNow = (): number => nodePerformance.timeOrigin + nodePerformance.now();

export interface ClockMapping {
  /** Page epoch time minus Node epoch time, in milliseconds. */
  offsetMs: number;
  /** Half the round trip of the best sample: the offset is right to within this. */
  uncertaintyMs: number;
}

/**
 * The page's clock against Node's, NTP style: each sample reads the page's
 * clock between two readings of Node's, and the one with the shortest round
 * trip wins, as it has the least room for error. Both clocks count from the
 * epoch, but each process fixed its epoch from the wall clock at its own
 * start, so they can disagree by milliseconds; measured, not assumed.
 */
export async function mapClock(page: Page, samples = 25): Promise<ClockMapping> {
  let best: ClockMapping = { offsetMs: Number.NaN, uncertaintyMs: Number.POSITIVE_INFINITY };
  for (let i = 0; i < samples; i++) {
    const before = nodeEpochNow();
    const pageTime = await page.evaluate(() => performance.timeOrigin + performance.now());
    const after = nodeEpochNow();
    const half = (after - before) / 2;
    if (half < best.uncertaintyMs) best = { offsetMs: pageTime - (before + half), uncertaintyMs: half };
  }
  return best;
}

/** One page load until the first row was painted; times in ms from the start of navigation. */
export interface FirstRowsSample {
  htmlEnd: number;
  scriptStart: number;
  scriptEnd: number;
  domContentLoaded: number;
  listRequestStart: number;
  listResponseEnd: number;
  listBytes: number;
  firstRowDom: number;
  firstRowFrame: number;
  firstRowPainted: number;
  /** Element Timing's presentation time; NaN where Chromium reported none. */
  firstRowShown: number;
  /** The presentation time, or where there is none the paint estimate. */
  firstRowOnScreen: number;
  rowsAtFirst: number;
  /** Other API requests of the page by path (the first of each), started before the first row was in the DOM. */
  otherRequests: Record<string, { start: number; end: number }>;
  /** From just before page.goto() in Node to the first row on screen, on Node's clock. */
  fromGotoCall: number;
}

/** How long after the frame-based paint the page may take to report Element Timing's presentation time. */
const SHOWN_GRACE_MS = 500;

/** Opens a new page in `context`, loads `url` and waits until the first row is painted. */
export async function measureFirstRows(context: BrowserContext, url: string, timeoutMs: number): Promise<FirstRowsSample> {
  const page = await context.newPage();
  try {
    const gotoAt = nodeEpochNow();
    await page.goto(url, { waitUntil: 'commit', timeout: timeoutMs });
    await withTimeout(
      page.evaluate(
        (grace) =>
          new Promise<void>((resolve) => {
            // The probe is installed before the page's scripts; wait for it all the same.
            const wait = (): void => {
              const probe = (window as ProbeWindow).__mailroomBench;
              if (!probe) {
                setTimeout(wait, 5);
                return;
              }
              void probe.firstPainted.then(() => {
                // Element Timing entries are delivered after the frame is presented: a little later.
                const since = performance.now();
                const shown = (): void => {
                  if (probe.first?.shown !== undefined || performance.now() - since > grace) resolve();
                  else setTimeout(shown, 5);
                };
                shown();
              });
            };
            wait();
          }),
        SHOWN_GRACE_MS,
      ),
      timeoutMs,
      `no row painted within ${timeoutMs} ms of loading ${url}`,
    );
    const figures = await page.evaluate(() => {
      const probe = (window as ProbeWindow).__mailroomBench!;
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
      const resources = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
      const script = resources.find((r) => r.initiatorType === 'script' || /\.js(\?|$)/.test(r.name));
      const list = resources.find((r) => new URL(r.name).pathname === '/api/messages');
      const otherRequests: Record<string, { start: number; end: number }> = {};
      for (const r of resources) {
        const path = new URL(r.name).pathname;
        if (!path.startsWith('/api/') || path === '/api/messages' || path in otherRequests) continue;
        if (r.startTime < probe.first!.dom) otherRequests[path] = { start: r.startTime, end: r.responseEnd };
      }
      return {
        timeOrigin: performance.timeOrigin,
        htmlEnd: nav?.responseEnd ?? Number.NaN,
        scriptStart: script?.startTime ?? Number.NaN,
        scriptEnd: script?.responseEnd ?? Number.NaN,
        domContentLoaded: nav?.domContentLoadedEventEnd ?? Number.NaN,
        listRequestStart: list?.startTime ?? Number.NaN,
        listResponseEnd: list?.responseEnd ?? Number.NaN,
        listBytes: list?.encodedBodySize ?? Number.NaN,
        firstRowDom: probe.first!.dom,
        firstRowFrame: probe.first!.raf!,
        firstRowPainted: probe.first!.paint!,
        firstRowShown: probe.first!.shown ?? Number.NaN,
        rowsAtFirst: probe.rowsAtFirst,
        otherRequests,
      };
    });
    const clock = await mapClock(page, 10);
    const { timeOrigin, ...sample } = figures;
    const firstRowOnScreen = Number.isFinite(sample.firstRowShown) ? sample.firstRowShown : sample.firstRowPainted;
    return { ...sample, firstRowOnScreen, fromGotoCall: timeOrigin + firstRowOnScreen - clock.offsetMs - gotoAt };
  } finally {
    await page.close();
  }
}

/** What the probe saw of the given message ids, in page epoch milliseconds; undefined where not (yet) seen. */
export interface LiveSighting {
  frame?: number;
  dom?: number;
  paint?: number;
  shown?: number;
}

export async function readSightings(page: Page, ids: readonly string[]): Promise<LiveSighting[]> {
  return page.evaluate((wanted) => {
    const probe = (window as ProbeWindow).__mailroomBench!;
    const origin = performance.timeOrigin;
    const epoch = (t: number | undefined): number | undefined => (t === undefined ? undefined : origin + t);
    return wanted.map((id) => {
      const row = probe.rows.get(id);
      return { frame: epoch(probe.frames.get(id)), dom: epoch(row?.dom), paint: epoch(row?.paint), shown: epoch(row?.shown) };
    });
  }, ids);
}

/**
 * Waits until every id has a painted row (or `timeoutMs` passes), then up to
 * SHOWN_GRACE_MS more for their Element Timing entries.
 */
export async function waitForRows(page: Page, ids: readonly string[], timeoutMs: number): Promise<void> {
  const count = (key: 'paint' | 'shown'): Promise<number> =>
    page.evaluate(
      ([wanted, field]) => {
        const rows = (window as ProbeWindow).__mailroomBench!.rows;
        return wanted.filter((id) => rows.get(id)?.[field] !== undefined).length;
      },
      [ids, key] as const,
    );
  let deadline = Date.now() + timeoutMs;
  while ((await count('paint')) < ids.length && Date.now() < deadline) await sleep(50);
  deadline = Date.now() + SHOWN_GRACE_MS;
  while ((await count('shown')) < ids.length && Date.now() < deadline) await sleep(50);
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
