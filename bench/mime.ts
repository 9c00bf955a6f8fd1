import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { indexMessage } from '../server/src/mime/part-index.js';
import { formatInt, percentile } from './lib/stats.js';

/*
 * npm run bench:mime [-- --runs N --smoke]
 *
 * Throughput of the MIME part indexer alone: no decoding, no storing. Every
 * message is read and generated before any timing, so only indexMessage is
 * inside the timed loops. --smoke goes through every phase with a 2 MB large
 * message, one short run each and no targets, so that
 * test/integration/bench-smoke.test.ts can keep this script working in seconds.
 */

const FIXTURES_DIR = fileURLToPath(new URL('../../test/fixtures/mime/', import.meta.url));
/** Decimal megabytes, as throughput figures are usually quoted. */
const MB = 1_000_000;
const TARGET_MB_PER_S = 200;
/** Throughput may fall by this much from the smallest to the largest size before the growth is called superlinear. */
const LINEARITY_TOLERANCE = 0.2;

/** Sizes and durations: the full run's, or --smoke's, which need only get through every phase. */
interface Scale {
  /** The large message and its attachments, about 100 KB each at either scale. */
  largeBytes: number;
  largeAttachments: number;
  /** One corpus run lasts about this long; many tiny messages need long runs to even out timer noise. */
  corpusRunMs: number;
  largeRunMs: number;
  warmupMs: number;
  runs: number;
  /** Whether to judge the throughput against TARGET_MB_PER_S and LINEARITY_TOLERANCE. */
  targets: boolean;
}

const FULL: Scale = { largeBytes: 20 * MB, largeAttachments: 200, corpusRunMs: 1000, largeRunMs: 300, warmupMs: 500, runs: 5, targets: true };
const SMOKE: Scale = { largeBytes: 2 * MB, largeAttachments: 20, corpusRunMs: 20, largeRunMs: 10, warmupMs: 10, runs: 1, targets: false };

function readScale(): Scale {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, smoke: { type: 'boolean', default: false } } });
  const scale = values.smoke ? SMOKE : FULL;
  const text = values.runs ?? process.env.BENCH_RUNS;
  if (text === undefined) return scale;
  const runs = Number(text);
  if (!Number.isInteger(runs) || runs < 1 || runs > 100) throw new Error(`--runs: expected a whole number from 1 to 100, got "${text}"`);
  return { ...scale, runs };
}

// --- Inputs ------------------------------------------------------------------

function readCorpus(): Buffer[] {
  return readdirSync(FIXTURES_DIR)
    .filter((name) => name.endsWith('.eml'))
    .sort()
    .map((name) => readFileSync(FIXTURES_DIR + name));
}

/** xorshift32: the same bytes on every run and machine, so sizes and timings compare across runs. */
function pseudoRandomBytes(length: number, seed: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

/** Base64 in 76-character lines (RFC 2045 §6.8), as mail clients send attachments. */
function base64Lines(bytes: Buffer): string {
  const text = bytes.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += 76) lines.push(text.slice(i, i + 76));
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * A message of about `totalBytes`: a text and HTML alternative followed by
 * base64 attachments of the large message's size, as many as fit. Smaller
 * messages have proportionally fewer parts rather than smaller ones, so that
 * per-part and per-byte costs both scale with size, and a linear indexer shows
 * the same throughput at every size.
 */
function attachmentMessage(totalBytes: number, scale: Scale): { raw: Buffer; attachments: number } {
  const head = [
    'From: "Bench Sender" <sender@example.test>',
    'To: <user@example.test>',
    'Subject: Quarterly reports',
    'Date: Mon, 01 Jan 2024 00:00:00 +0000',
    'Message-ID: <bench-mime@example.test>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="----=_mixed_0001"',
    '',
    '------=_mixed_0001',
    'Content-Type: multipart/alternative; boundary="----=_alt_0002"',
    '',
    '------=_alt_0002',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 7bit',
    '',
    'The reports are attached.',
    '------=_alt_0002',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: 7bit',
    '',
    '<p>The reports are attached.</p>',
    '------=_alt_0002--',
    '',
  ].join('\r\n');
  const partHead = (i: number): string =>
    [
      '------=_mixed_0001',
      `Content-Type: application/octet-stream; name="report-${i}.bin"`,
      'Content-Transfer-Encoding: base64',
      `Content-Disposition: attachment; filename="report-${i}.bin"`,
      '',
      '',
    ].join('\r\n');
  const tail = '------=_mixed_0001--\r\n';
  const overhead = head.length + tail.length + scale.largeAttachments * partHead(scale.largeAttachments).length;
  // 57 bytes make one 76-character line plus CRLF.
  const rawPerAttachment = Math.floor(((scale.largeBytes - overhead) / scale.largeAttachments / 78) * 57);
  const attachments = Math.max(1, Math.round((scale.largeAttachments * totalBytes) / scale.largeBytes));
  const parts = [head];
  for (let i = 1; i <= attachments; i++) parts.push(partHead(i), base64Lines(pseudoRandomBytes(rawPerAttachment, i)));
  parts.push(tail);
  return { raw: Buffer.from(parts.join(''), 'latin1'), attachments };
}

// --- Timing ------------------------------------------------------------------

/** Indexes every message `repeat` times; returns elapsed ms. */
function indexAll(messages: readonly Buffer[], repeat: number): { ms: number } {
  const start = performance.now();
  for (let r = 0; r < repeat; r++) {
    for (const raw of messages) indexMessage(raw);
  }
  return { ms: performance.now() - start };
}

/** Enough repetitions for one run to last about `runMs`, judged from a run of one. */
function calibrate(messages: readonly Buffer[], runMs: number): number {
  const once = indexAll(messages, 1).ms;
  return Math.max(1, Math.round(runMs / Math.max(once, 0.001)));
}

interface Throughput {
  mbPerSecond: number;
  repeat: number;
  /** Spread of the runs, so that a noisy machine shows. */
  min: number;
  max: number;
}

function measure(messages: readonly Buffer[], runMs: number, scale: Scale): Throughput {
  const bytes = messages.reduce((sum, raw) => sum + raw.length, 0);
  // Warm-up: long enough for V8 to optimise the indexer for this input.
  const warmEnd = performance.now() + scale.warmupMs;
  while (performance.now() < warmEnd) indexAll(messages, 1);
  const repeat = calibrate(messages, runMs);
  const rates: number[] = [];
  for (let i = 0; i < scale.runs; i++) {
    const { ms } = indexAll(messages, repeat);
    rates.push((bytes * repeat) / MB / (ms / 1000));
  }
  return { mbPerSecond: percentile(rates, 50), repeat, min: Math.min(...rates), max: Math.max(...rates) };
}

// --- Report ------------------------------------------------------------------

const verdict = (mbPerSecond: number): string => (mbPerSecond >= TARGET_MB_PER_S ? 'PASS' : 'MISS');
const mb = (bytes: number): string => `${(bytes / MB).toFixed(bytes < 10 * MB ? 2 : 1)} MB`;

function row(label: string, bytes: number, t: Throughput, target: boolean): string {
  const rate = `${t.mbPerSecond.toFixed(1).padStart(8)} MB/s`;
  const spread = `(runs ${t.min.toFixed(0)}-${t.max.toFixed(0)})`.padEnd(16);
  const goal = target ? `  >= ${TARGET_MB_PER_S} MB/s ${verdict(t.mbPerSecond)}` : '';
  return `  ${label.padEnd(44)} ${mb(bytes).padStart(9)} ${rate} ${spread}${goal}`;
}

/** Refuses to time a message that does not index to the tree it was built as: the figure would mean nothing. */
function checkShape({ raw, attachments }: { raw: Buffer; attachments: number }): void {
  const { root, truncated } = indexMessage(raw);
  const found = root.children.slice(1).filter((part) => part.encoding === 'base64' && part.filename !== null).length;
  if (truncated || root.children.length !== attachments + 1 || found !== attachments) {
    throw new Error(`generated message indexed as ${root.children.length} parts (truncated: ${truncated}), expected ${attachments + 1}`);
  }
}

function main(): void {
  const scale = readScale();
  const corpus = readCorpus();
  const corpusBytes = corpus.reduce((sum, raw) => sum + raw.length, 0);
  const sizes = [scale.largeBytes / 4, scale.largeBytes / 2, scale.largeBytes].map((bytes) => attachmentMessage(bytes, scale));
  sizes.forEach(checkShape);
  const large = sizes.at(-1)!;

  // Printed as it goes: the whole run takes a while.
  const out = (line = ''): void => void process.stdout.write(`${line}\n`);
  out(`MIME part index throughput: indexMessage only, no decoding; median of ${scale.runs} runs after warm-up (MB = 10^6 bytes)`);
  out(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}`);
  out();
  const corpusRate = measure(corpus, scale.corpusRunMs, scale);
  out(row(`fixture corpus: ${corpus.length} messages x ${formatInt(corpusRate.repeat)} per run`, corpusBytes, corpusRate, scale.targets));
  const largeRate = measure([large.raw], scale.largeRunMs, scale);
  out(row(`generated: ${large.attachments} base64 attachments`, large.raw.length, largeRate, scale.targets));
  out();
  out('Linearity: the same shape at three sizes, attachment count in proportion (should be about equal)');
  const rates = sizes.map((size) => (size === large ? largeRate : measure([size.raw], scale.largeRunMs, scale)));
  sizes.forEach(({ raw, attachments }, i) => out(row(`${mb(raw.length)} message, ${attachments} attachments`, raw.length, rates[i]!, false)));
  const first = rates[0]!.mbPerSecond;
  const last = rates.at(-1)!.mbPerSecond;
  const ratio = last / first;
  const linear = ratio >= 1 - LINEARITY_TOLERANCE;
  const judged = linear ? ' PASS (linear)' : ' MISS (slower per byte when larger)';
  out(`  ${mb(large.raw.length)} vs ${mb(sizes[0]!.raw.length)}: ${(ratio * 100).toFixed(0)}% of the throughput${scale.targets ? judged : ''}`);
}

try {
  main();
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
