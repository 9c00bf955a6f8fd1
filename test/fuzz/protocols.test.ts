import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { startChildMailroom } from '../helpers/child-mailroom.js';
import type { FuzzConn } from './conn.js';
import { KEEP, SCRATCH } from './env.js';
import { apiGet, BIG_SEED, cpuTicks, FuzzRun, MiB, RssSampler, seedContents, sendMessages, storedIds, type Limits } from './harness.js';
import { httpCase, httpPipeliner } from './http.js';
import { imapCase, imapMakeFolders, imapPipeliner } from './imap.js';
import { pop2Case, pop2Pipeliner } from './pop2.js';
import { pop3Case, pop3Pipeliner } from './pop3.js';
import { smtpCase, smtpPipeliner } from './smtp.js';

/*
 * A seeded protocol fuzzer against one Mailroom in a process of its own
 * (POP2 on, small store limits, no --pop3-auth or --imap-auth). Every case
 * draws from a PRNG stream of its own, derived from SEED, the protocol and
 * the case number, so a failure names the case and the bytes it sent, and
 * MAILROOM_FUZZ_SEED replays another run. MAILROOM_FUZZ_REPORT=file writes
 * the tallies (cases by kind, deleting commands, messages deleted), timings
 * and problems there as JSON; MAILROOM_FUZZ_CASES=n runs n cases of each.
 *
 * The cases of each protocol (smtp.ts, pop3.ts, pop2.ts, http.ts, imap.ts)
 * check every reply against a model of the protocol as they go. They run in
 * batches, with a watchdog on GET /api/health meanwhile; after each batch
 * Mailroom must be alive, answer GET /api/health, serve a fresh client of
 * every protocol exactly, and still hold every seed message and every
 * message it answered 250 for. Messages may go missing only in batches that
 * sent deleting commands, and only scratch mail: deleting commands are only
 * sent in sessions of the scratch user, whose mailbox holds nothing else.
 * Before the first batch of each protocol a client pipelines commands with
 * large answers and never reads: what it pins in Mailroom must stay under
 * PIPELINER_ALLOWANCE. Mailroom's RSS during each protocol's cases must stay
 * under rssBound(), and at the end the seeds must be intact byte for byte
 * and Mailroom must have logged no error.
 */

const SEED = Number(process.env.MAILROOM_FUZZ_SEED ?? 20261207);
/** Cases per protocol (MAILROOM_FUZZ_CASES=n runs n of each instead, for a quick look). */
const PER_PROTOCOL = Number(process.env.MAILROOM_FUZZ_CASES ?? 2000);
const CASES = { smtp: PER_PROTOCOL, pop3: PER_PROTOCOL, pop2: PER_PROTOCOL, http: PER_PROTOCOL, imap: PER_PROTOCOL } as const;
export const TOTAL_CASES = Object.values(CASES).reduce((sum, n) => sum + n, 0);
/** Cases per batch: SMTP's store a message in about one case of two, IMAP's APPEND in about one of four, and the store keeps 500. */
const BATCH = { smtp: 500, pop3: 1000, pop2: 1000, http: 1000, imap: 400 } as const;
/** Cases running at once; SMTP's wait 100 ms for smtp-server's greeting (it holds it back to catch early talkers). */
const CONCURRENCY = { smtp: 96, pop3: 48, pop2: 48, http: 48, imap: 32 } as const;
/** A reply slower than this is taken for a hang. */
const REPLY_MS = 10_000;
/** GET /api/health must answer within this, during the cases and after each batch. */
const HEALTH_MS = 3000;
const LIMITS: Limits = { maxStoreBytes: 32 * MiB, maxMessages: 500, maxMessageSize: 1 * MiB };
/** Scratch messages (deletable by the cases) present at the start of each batch. */
const SCRATCH_MESSAGES = 30;

/**
 * What a connection may pin in Mailroom (README, Security): unsent output
 * up to 1 MiB plus the one reply that crosses it (here at most the 256 KiB
 * seed), queued input up to 1 MiB, and some of a line or literal being read.
 */
const PER_CONNECTION = 3 * MiB;
/** One never-reading pipeliner, with the machine's own noise in RSS. */
const PIPELINER_ALLOWANCE = PER_CONNECTION + 28 * MiB;
/** V8 heap growth, compiled code and allocator fragmentation over a run of this length. */
const HEAP_SLACK = 64 * MiB;
/**
 * Mailroom's RSS during a protocol's cases stays under: its RSS after start
 * and seeding, plus the store and the IMAP folders (each up to
 * --max-store-bytes), plus the connections open at once (the concurrent
 * cases, one pipeliner and one probe) times the per-connection allowance,
 * plus the heap slack.
 */
const rssBound = (protocol: keyof typeof CASES): number => baselineRss + 2 * LIMITS.maxStoreBytes + (CONCURRENCY[protocol] + 2) * PER_CONNECTION + HEAP_SLACK;

const child = await startChildMailroom([
  '--pop2-port', '0',
  '--max-store-bytes', String(LIMITS.maxStoreBytes),
  '--max-messages', String(LIMITS.maxMessages),
  '--max-message-size', String(LIMITS.maxMessageSize),
]);
const target = FuzzRun.target(child);
const run = new FuzzRun(SEED, child, target, REPLY_MS);
const rss = new RssSampler(child.pid);
afterAll(() => rss.stop());

const seeds = seedContents();
const seedIds = await sendMessages(target.ports.smtp, seeds.map((raw) => ({ to: KEEP, raw })));
/** The exact bytes each seed is stored with: what was sent, with the CRLF that ends DATA's last line. */
const seedRaw = new Map<string, Buffer>();
for (const [i, id] of seedIds.entries()) {
  const raw = (await apiGet(child.apiUrl, `/api/messages/${id}/raw`, 10_000))!.raw;
  const sent = seeds[i]!;
  if (!raw.equals(sent) && !raw.equals(Buffer.concat([sent, Buffer.from('\r\n')]))) throw new Error(`seed ${i + 1} is stored as ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`);
  seedRaw.set(id, raw);
}
const bigSeedId = seedIds[BIG_SEED - 1]!;
await imapMakeFolders(target.ports.imap, 'pipeliner', 100);
await sleep(200);
const baselineRss = rss.sample();

const rerun = `seed ${SEED}: rerun with MAILROOM_FUZZ_SEED=${SEED}`;
/** Messages the SMTP cases were told were stored (250 ... queued as <id>), in the current batch. */
let storedInBatch: string[] = [];
let scratchIds: string[] = [];

const DELETING = ['pop3 messages deleted', 'pop2 ACKD marks carried out', 'imap deleting commands (scratch)', 'imap deleting commands', 'http deleting requests'];
const deletingSoFar = (): number => DELETING.reduce((sum, name) => sum + (run.tallies.get(name) ?? 0), 0);

async function deleteAllBut(query: string): Promise<void> {
  const response = await fetch(`${child.apiUrl}/api/messages?query=${encodeURIComponent(query)}`, { method: 'DELETE', signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`clean-up: DELETE answered ${response.status}`);
}

/** Runs a pipeliner on its own and measures how much it makes Mailroom hold. */
async function pipeliner(protocol: string, open: () => Promise<FuzzConn>): Promise<void> {
  await sleep(100);
  const before = rss.sample();
  const conn = await open();
  // Until Mailroom has taken in what it will: its CPU time still for 250 ms, or 6 s.
  let peak = before;
  let cpu = cpuTicks(child.pid);
  let still = Date.now();
  for (const deadline = Date.now() + 6000; Date.now() < deadline && Date.now() - still < 250; ) {
    await sleep(25);
    peak = Math.max(peak, rss.sample());
    const now = cpuTicks(child.pid);
    if (now !== cpu) still = Date.now();
    cpu = now;
  }
  const growth = peak - before;
  if (growth > PIPELINER_ALLOWANCE) {
    run.problem(protocol, `a client that pipelines without reading (${conn.bytesSent} bytes of commands) grew Mailroom's RSS by ${(growth / MiB).toFixed(0)} MiB, over the ${PIPELINER_ALLOWANCE / MiB} MiB allowance`);
  }
  run.held.push(conn);
}

/** All batches of one protocol, with the checks after each. */
async function fuzz(protocol: keyof typeof CASES, runCase: Parameters<FuzzRun['batch']>[0]['run'], pipelinerOpen?: () => Promise<FuzzConn>): Promise<void> {
  const started = Date.now();
  rss.resetPhase();
  const cpuBefore = cpuTicks(child.pid);
  const ownBefore = process.cpuUsage();
  try {
    await batches(protocol, runCase, pipelinerOpen);
  } finally {
    const own = process.cpuUsage(ownBefore);
    durations[protocol] = { wallMs: Date.now() - started, mailroomCpuTicks: cpuTicks(child.pid) - cpuBefore, fuzzerCpuMs: Math.round((own.user + own.system) / 1000) };
    phasePeaks[protocol] = rss.phasePeak;
  }
}

const durations: Record<string, { wallMs: number; mailroomCpuTicks: number; fuzzerCpuMs: number }> = {};
/** Peak RSS of Mailroom during each protocol's cases. */
const phasePeaks: Partial<Record<keyof typeof CASES, number>> = {};

async function batches(protocol: keyof typeof CASES, runCase: Parameters<FuzzRun['batch']>[0]['run'], pipelinerOpen?: () => Promise<FuzzConn>): Promise<void> {
  for (let first = 0; first < CASES[protocol] && run.broken === null; first += BATCH[protocol]) {
    await fetch(`${child.apiUrl}/api/smtp/rules`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"rules":[]}' });
    await deleteAllBut(`-to:${KEEP}`);
    const scratch = Array.from({ length: SCRATCH_MESSAGES }, (_, i) => ({ to: SCRATCH, raw: Buffer.from(`From: harness@fuzz.test\r\nTo: ${SCRATCH}\r\nSubject: scratch ${i}\r\n\r\nScratch ${i}.\r\n`) }));
    scratchIds = await sendMessages(target.ports.smtp, scratch);
    const before = await storedIds(child.apiUrl, 10_000);
    const deletingBefore = deletingSoFar();
    storedInBatch = [];
    if (first === 0 && pipelinerOpen) await pipeliner(protocol, pipelinerOpen);
    await run.batch({ protocol, first, count: Math.min(BATCH[protocol], CASES[protocol] - first), concurrency: CONCURRENCY[protocol], run: runCase }, HEALTH_MS);
    await run.check(protocol, LIMITS, HEALTH_MS);
    if (run.broken !== null) break;
    // No message lost but where deleting commands were sent, and then only scratch mail.
    const after = await storedIds(child.apiUrl, 10_000);
    if (!before || !after) {
      run.problem(protocol, 'could not list the stored messages');
      continue;
    }
    const missing = [...before].filter((id) => !after.has(id));
    const lostSeeds = seedIds.filter((id) => !after.has(id));
    if (lostSeeds.length > 0) run.problem(protocol, `seed messages lost: ${lostSeeds.join(' ')}`);
    const notScratch = missing.filter((id) => !scratchIds.includes(id) && !seedIds.includes(id));
    if (notScratch.length > 0) run.problem(protocol, `messages no deleting command could reach were lost: ${notScratch.join(' ')}`);
    if (missing.length > 0 && deletingSoFar() === deletingBefore) run.problem(protocol, `${missing.length} messages went missing, yet no deleting command was sent`);
    run.tally(`${protocol} scratch messages deleted`, missing.filter((id) => scratchIds.includes(id)).length);
    const lostStored = storedInBatch.filter((id) => !after.has(id));
    if (lostStored.length > 0) run.problem(protocol, `messages answered "250 queued as" are gone: ${lostStored.join(' ')}`);
    const info = await apiGet(child.apiUrl, '/api/info', 10_000);
    const { messages, storeBytes } = (info?.body ?? {}) as { messages?: number; storeBytes?: number };
    if (!(messages! < LIMITS.maxMessages * 0.9 && storeBytes! < LIMITS.maxStoreBytes * 0.9)) {
      run.problem(protocol, `the batch filled the store near its limits (${messages} messages, ${storeBytes} bytes), where eviction would take seeds: make batches smaller`);
    }
  }
}

/** A protocol's problems for the assertion: two examples of each kind (the text without case number, bytes sent, quoted bytes and numbers), and a count of the rest. */
const problems = (protocol: string): string[] => {
  const kinds = new Map<string, string[]>();
  for (const problem of run.problems.get(protocol) ?? []) {
    const kind = problem
      .replace(/^case \d+: /, '')
      .replace(/ \(sent [\s\S]*$/, '')
      .replace(/"(?:[^"\\]|\\.)*"/g, '"..."')
      .replace(/\d+/g, 'N')
      .slice(0, 100);
    kinds.set(kind, [...(kinds.get(kind) ?? []), problem]);
  }
  return [...kinds.values()].flatMap((list) => (list.length <= 2 ? list : [...list.slice(0, 2), `... and ${list.length - 2} more like the one above`]));
};

describe(`protocol fuzzer (${TOTAL_CASES} cases)`, () => {
  afterAll(() => {
    if (process.env.MAILROOM_FUZZ_REPORT) {
      writeFileSync(process.env.MAILROOM_FUZZ_REPORT, JSON.stringify({ seed: SEED, durations, baselineRss, peakRss: rss.peak, phasePeaks, tallies: Object.fromEntries(run.tallies), problems: Object.fromEntries(run.problems) }, null, 2));
    }
  });

  it(`SMTP: ${CASES.smtp} cases`, async () => {
    await fuzz('smtp', (env) => smtpCase(env, LIMITS.maxMessageSize, (id) => storedInBatch.push(id)), () => smtpPipeliner(target.ports.smtp, 20_000));
    expect(problems('smtp'), rerun).toStrictEqual([]);
  }, 180_000);

  it(`POP3: ${CASES.pop3} cases`, async () => {
    await fuzz('pop3', pop3Case, () => pop3Pipeliner(target.ports.pop3, BIG_SEED, 2000));
    expect(problems('pop3'), rerun).toStrictEqual([]);
  }, 180_000);

  it(`POP2: ${CASES.pop2} cases`, async () => {
    await fuzz('pop2', pop2Case, () => pop2Pipeliner(target.ports.pop2, BIG_SEED, 2000));
    expect(problems('pop2'), rerun).toStrictEqual([]);
  }, 180_000);

  it(`HTTP API: ${CASES.http} cases`, async () => {
    await fuzz('http', (env) => httpCase(env, { seeds: seedIds, scratch: scratchIds }), () => httpPipeliner(target.ports.http, bigSeedId, 2000));
    expect(problems('http'), rerun).toStrictEqual([]);
  }, 180_000);

  // Last: a hang here would leave nothing for the others.
  it(`IMAP: ${CASES.imap} cases`, async () => {
    await fuzz('imap', imapCase, () => imapPipeliner(target.ports.imap, 'pipeliner', 2500));
    expect(problems('imap'), rerun).toStrictEqual([]);
  }, 180_000);

  it('kept memory bounded, every seed byte for byte, and logged no error', async () => {
    const failures: string[] = [];
    if (run.broken) failures.push(`Mailroom broke: ${run.broken.split('\n')[0]}`);
    for (const protocol of Object.keys(CASES) as (keyof typeof CASES)[]) {
      const peak = phasePeaks[protocol];
      const bound = rssBound(protocol);
      if (peak !== undefined && peak > bound) {
        failures.push(
          `during the ${protocol} cases Mailroom's RSS peaked at ${(peak / MiB).toFixed(0)} MiB, over the bound of ${(bound / MiB).toFixed(0)} MiB: ` +
            `${(baselineRss / MiB).toFixed(0)} after start + store and IMAP folders 2 x ${LIMITS.maxStoreBytes / MiB} + ${CONCURRENCY[protocol] + 2} connections x ${PER_CONNECTION / MiB} + ${HEAP_SLACK / MiB} heap slack`,
        );
      }
    }
    if (!run.broken) {
      for (const [id, raw] of seedRaw) {
        const now = await apiGet(child.apiUrl, `/api/messages/${id}/raw`, 10_000);
        if (now?.status !== 200 || !now.raw.equals(raw)) failures.push(`seed ${id} is ${now?.status === 200 ? 'changed' : 'gone'}`);
      }
    }
    const errors = child.log.filter((line) => {
      try {
        return (JSON.parse(line) as { level?: number }).level! >= 50;
      } catch {
        return line.trim() !== '';
      }
    });
    if (errors.length > 0) failures.push(`Mailroom logged ${errors.length} errors, the first: ${errors[0]!.slice(0, 600)}`);
    expect(failures, rerun).toStrictEqual([]);
  }, 60_000);
});
