import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * CI never runs the benchmarks, so each bench script's --smoke run stands in:
 * the same phases on a few hundred messages, no targets and no competitor but
 * Dovecot. Each must exit 0 and print every figure of its report in the usual
 * layout; the values themselves are not judged, as a loaded machine makes them
 * anything. `npm test` builds dist/ first.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
/** Each run takes seconds; this is for a machine shared with another test file and whatever else. */
const RUN_TIMEOUT_MS = 90_000;

/** A figure as the reports print it: 1,234 or 12.5 or -3, never NaN. */
const N = String.raw`-?\d[\d,]*(?:\.\d+)?`;
const line = (pattern: string): RegExp => new RegExp(`^${pattern}$`, 'm');
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Run {
  /** The exit status, or how the process was stopped (SIGTERM from the timeout). */
  exit: number | string;
  stdout: string;
  stderr: string;
}

function smoke(name: string, args: readonly string[]): Promise<Run> {
  // BENCH_* settings left in the environment would override the smoke sizes.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('BENCH_')));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`dist/bench/${name}.js`, '--smoke', ...args],
      { cwd: root, env, timeout: RUN_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const exit = error === null ? 0 : typeof error.code === 'number' ? error.code : (error.signal ?? String(error.code));
        resolve({ exit, stdout, stderr });
      },
    );
  });
}

/** Runs the bench and checks what every smoke run must: exit 0 and no judgement against a target. */
async function smokeReport(name: string, args: readonly string[] = []): Promise<{ out: string; expectLine: (pattern: string) => void }> {
  const run = await smoke(name, args);
  const context = `bench ${[name, '--smoke', ...args].join(' ')} (exit ${run.exit})\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
  expect(run.exit, context).toBe(0);
  expect(run.stdout, context).not.toMatch(/\b(PASS|MISS|FAIL)\b/);
  expect(run.stdout, context).not.toMatch(/\btarget\b/i);
  return { out: run.stdout, expectLine: (pattern) => expect(run.stdout, context).toMatch(line(pattern)) };
}

describe('bench scripts --smoke', () => {
  it('smtp: Mailroom alone, every row of the table and the memory lines', { timeout: RUN_TIMEOUT_MS + 10_000 }, async () => {
    const { expectLine } = await smokeReport('smtp');
    expectLine(`SMTP benchmark: 300 messages of ~${N} bytes over 10 connections, after 50 warm-up messages; .*`);
    expectLine(String.raw`\s+Mailroom\s+MailDev [\d.]+\s+Mailroom/MailDev`);
    expectLine(String.raw`throughput \(messages/s\)\s+${N}\s+-\s+-`);
    expectLine(String.raw`end of DATA to 250, p50 / p99 \(ms\)\s+${N} / ${N}\s+-`);
    expectLine(String.raw`end of DATA to live event, p50 / p99 \(ms\)\s+${N} / ${N}\s+-`);
    expectLine(String.raw`server CPU per message \(ms\)\s+${N}\s+-\s+-`);
    expectLine(String.raw`load client CPU per message \(ms\)\s+${N}\s+-`);
    expectLine(String.raw`other processes, share of all CPUs\s+${N}%\s+-`);
    expectLine(String.raw`raw bytes per message\s+${N}`);
    expectLine(String.raw`memory per message, heap\+external\s+${N}`);
    expectLine(String.raw`memory per message, rss\s+${N}`);
    expectLine(String.raw`after delete-all vs idle, heap\+external\s+[+-]${N}%`);
    expectLine(String.raw`after delete-all vs idle, rss\s+[+-]${N}%`);
    for (const label of ['idle', 'with 300 messages', 'after delete-all']) {
      expectLine(String.raw`  ${label}\s+rss\s+${N} (MiB|B)\s+heap\+external\s+${N} (MiB|B)\s+\(heapUsed .*\)`);
    }
    expectLine('MailDev comparison skipped: --smoke given');
  });

  it('smtp --data-dir: in memory and with a data directory, then a start-up load of 1,000 messages', { timeout: RUN_TIMEOUT_MS + 10_000 }, async () => {
    const { out, expectLine } = await smokeReport('smtp', ['--data-dir']);
    expectLine(
      `SMTP persistence benchmark: 300 messages of ~${N} bytes over 10 connections, after 50 warm-up messages, to Mailroom in memory and then with --data-dir; .*`,
    );
    expectLine(String.raw`With --data-dir each 250 waits until its message is on disk \(group commit\)\. Data directories in \S+, removed at the end\.`);
    expectLine(String.raw`\s+in memory\s+data dir\s+data dir/in memory`);
    expectLine(String.raw`throughput \(messages/s\)\s+${N}\s+${N}\s+${N}%`);
    expectLine(String.raw`end of DATA to 250, p50 / p99 \(ms\)\s+${N} / ${N}\s+${N} / ${N}`);
    expectLine(String.raw`end of DATA to live event, p50 / p99 \(ms\)\s+${N} / ${N}\s+${N} / ${N}`);
    expectLine(String.raw`server CPU per message \(ms\)\s+${N}\s+${N}\s+${N}x`);
    expectLine(String.raw`load client CPU per message \(ms\)\s+${N}\s+${N}`);
    expectLine(String.raw`other processes, share of all CPUs\s+${N}%\s+${N}%`);
    expectLine(String.raw`data directory\s+raw size\s+written in \(s\)\s+openMaildir \(s\)\s+new MessageStore \(s\)\s+start-up \(s\)\s+rss after`);
    expectLine(String.raw`1,000 messages\s+${N} (MiB|B)(\s+${N}){4}\s+${N} (MiB|B)`);
    expect(out).not.toMatch(/MailDev/);
    // The data directories were temporary.
    const scratch = /Data directories in (\S+), removed/.exec(out)![1]!;
    expect(existsSync(scratch)).toBe(false);
  });

  it('mime: the fixture corpus, the large message and three sizes', { timeout: RUN_TIMEOUT_MS + 10_000 }, async () => {
    const { expectLine } = await smokeReport('mime');
    const rate = String.raw`${N} MB\s+${N} MB/s \(runs ${N}-${N}\)\s*`;
    expectLine(String.raw`MIME part index throughput: indexMessage only, no decoding; median of 1 runs after warm-up .*`);
    expectLine(String.raw`  fixture corpus: \d+ messages x ${N} per run\s+${rate}`);
    expectLine(String.raw`  generated: 20 base64 attachments\s+${rate}`);
    for (const [size, attachments] of [['0.50', 5], ['1.00', 10], ['2.00', 20]] as const) {
      expectLine(String.raw`  ${escape(size)} MB message, ${attachments} attachments\s+${rate}`);
    }
    expectLine(String.raw`  2\.00 MB vs 0\.50 MB: ${N}% of the throughput`);
  });

  it('pop3: LIST, UIDL and RETR of 200 and of 400 messages', { timeout: RUN_TIMEOUT_MS + 10_000 }, async () => {
    const { expectLine } = await smokeReport('pop3');
    expectLine(String.raw`messages\s+SMTP load\s+login\s+LIST\+UIDL\s+LIST\+UIDL\+RETR\s+message MB\s+MB/s\s+messages/s\s+µs/message`);
    for (const messages of [200, 400]) {
      expectLine(String.raw`${messages}\s+${N} s\s+${N} ms\s+${N} ms\s+${N} ms\s+${N}\s+${N}\s+${N}\s+${N}`);
    }
    expectLine(String.raw`time per message, 400 vs 200: ${N}x \(.*\)`);
  });

  it('imap: four commands against Dovecot with the same results, then 200 messages', { timeout: RUN_TIMEOUT_MS + 10_000 }, async () => {
    const { expectLine } = await smokeReport('imap');
    expectLine(String.raw`IMAP benchmark: 100 messages, ${N} MB .*`);
    expectLine(String.raw`Mailroom .* loaded over one SMTP connection in ${N} s; Dovecot .* up in ${N} s; .*`);
    const commands = [
      ['a)', 'FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)', '100 FETCH responses'],
      ['b)', 'UID SEARCH TEXT reconciliation', `${N} messages \\(${N}%\\)`],
      ['c)', 'SORT (REVERSE DATE) UTF-8 ALL', '100 sequence numbers, first [\\d ]+'],
      ['d)', 'FETCH 1:* BODY.PEEK[]', `100 FETCH responses, ${N} octets`],
    ] as const;
    for (const [id, command, result] of commands) {
      expectLine(String.raw`${escape(id)} ${escape(command)}\s+${N} ms\s+${N} ms\s+${N}x\s+.*msg/s\s+.*msg/s`);
      expectLine(String.raw`${escape(id)}\s+${N} / ${N}(\s+${N} / ${N}){3}\s+${N}-${N}\s+${N}-${N}`);
      expectLine(String.raw`${escape(id)}\s+${result}\s+${result}\s+same`);
    }
    for (const messages of [100, 200]) {
      expectLine(String.raw`${messages} messages\s+${N} s(\s+${N} ms\s+${N}\s+${N}){2}`);
    }
    expectLine(String.raw`time per message, 200 vs 100: a\) ${N}x \(server CPU ${N}x\), c\) ${N}x \(server CPU ${N}x\)`);
  });

  it('wait: 20 waiters, every message answered once to its own inbox', { timeout: RUN_TIMEOUT_MS + 10_000 }, async () => {
    const { out, expectLine } = await smokeReport('wait');
    expectLine(String.raw`Long-poll waits: 20 waiters, .*`);
    expectLine(String.raw`200 messages of ~${N} bytes \(10 per inbox, shuffled\) at 500/s over 4 pipelining SMTP connections; after 20 warm-up messages; .*`);
    expectLine(String.raw`answers\s+cross-inbox\s+unanswered\s+min\s+p50\s+p90\s+p99\s+max\s+sent/s\s+server CPU/msg\s+client CPU/msg`);
    expectLine(String.raw`200\s+0\s+0(\s+${N} ms){5}\s+${N}\s+${N} ms\s+${N} ms`);
    expectLine(String.raw`answered from the store at once .*: ${N}`);
    expectLine(String.raw`sending: slowest connection lagged ${N} ms behind its schedule; .*`);
    expect(out).not.toMatch(/^(CROSS-INBOX|PROBLEM):/m);
  });

  it('web: first rows cold and warm, and live rows, in Chromium', { timeout: RUN_TIMEOUT_MS + 10_000 }, async () => {
    const { expectLine } = await smokeReport('web');
    expectLine(String.raw`Web inbox benchmark: 300 stored messages of ~${N} bytes \(loaded in ${N} s over 10 SMTP connections; .*\)`);
    expectLine(String.raw`First rows: 1 cold loads .* 1 warm loads .*`);
    expectLine(String.raw`first rows \(ms from navigation start\)\s+cold median\s+cold max\s+warm median\s+warm max`);
    for (const label of ['first row on screen', '  HTML received', '  GET /api/messages received', '  first row in the DOM']) {
      expectLine(String.raw`${escape(label)}(\s+${N}){4}`);
    }
    expectLine(String.raw`Live rows: .*; every row appeared\.`);
    expectLine(String.raw`live rows \(ms\), 5 messages\s+p50\s+p99\s+max`);
    for (const label of ['end of DATA -> row on screen', '  end of DATA -> 250 in Node', '  end of DATA -> row in the DOM']) {
      expectLine(String.raw`${escape(label)}(\s+${N}){3}`);
    }
  });

  it('abuse: ingest, then every kind of attacker while the probes time their work', { timeout: RUN_TIMEOUT_MS + 10_000 }, async () => {
    const { expectLine } = await smokeReport('abuse');
    expectLine(String.raw`SMTP ingest, no attackers \(bench:smtp's load: 300 messages .* after 50 warm-up, .*\):`);
    expectLine(String.raw`  ${N} messages/s; server CPU ${N} ms/message, load client CPU ${N} ms/message, .*`);
    expectLine(String.raw`  idle: smtp \d+, pop3 \d+, imap \d+, http \d+ open of 10 each from .*`);
    expectLine(String.raw`  never-reading pipeliners: 3 \(1 imap, 1 pop3, 1 http\), ${N} bytes of commands; .*`);
    for (const mode of ['mid-command', 'mid-DATA']) expectLine(String.raw`    SMTP ${mode}, a byte every 0\.5 s: [1-9]\d* bytes dripped; .*`);
    expectLine(String.raw`under attack\s+p50 ms\s+p99 ms\s+max ms\s+samples`);
    const probes = ['SMTP connect to 250 (one message)', '  of which connect to EHLO reply', '  of which MAIL FROM to 250', 'IMAP FETCH n (FLAGS UID BODY.PEEK[])', 'GET /api/messages (50 summaries)'];
    for (const label of probes) expectLine(String.raw`${escape(label)}(\s+${N}){3}\s+[1-9][\d,]*`);
    expectLine(String.raw`Mailroom RSS, max over the window\s+${N} MiB\s+\d+ slices`);
    expectLine(String.raw`CPU over the ${N} s window: Mailroom ${N} ms .*`);
  });

  it('compat: each native route beside the Mailpit and MailHog routes it maps onto', { timeout: RUN_TIMEOUT_MS + 10_000 }, async () => {
    const { expectLine } = await smokeReport('compat');
    expectLine(String.raw`Compat benchmark: 300 messages of ~4,096 bytes, 4 rounds after a cold one; loopback, Node .*`);
    expectLine(String.raw`operation\s+native\s+Mailpit\s+MailHog\s+Mailpit/native\s+MailHog/native\s+cold: native, Mailpit, MailHog`);
    for (const operation of ['page of 50', 'one message', 'recipient search', 'free-text search']) {
      expectLine(String.raw`${escape(operation)}(\s+${N} \(${N}\)){3}\s+${N}x\s+${N}x\s+${N}, ${N}, ${N}`);
    }
    // MailHog cannot search subjects alone.
    expectLine(String.raw`subject search(\s+${N} \(${N}\)){2}\s+—\s+${N}x\s+—\s+${N}, ${N}, —`);
  });
});
