import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ChildMailroom } from '../helpers/child-mailroom.js';
import { Changes, currentCase, FuzzConn } from './conn.js';
import { KEEP, type CaseEnv, type Target } from './env.js';
import { ImapModel, IMAP_CAPABILITIES } from './imap.js';
import { Pop2Model } from './pop2.js';
import { Pop3Model, pop3Greeting } from './pop3.js';
import { Rng } from './random.js';
import { SMTP_GREETING, SmtpModel } from './smtp.js';

export const MiB = 1024 * 1024;

/** A message the fuzzer stored itself, with the bytes it must keep. */
export interface Stored {
  id: string;
  raw: Buffer;
}

export interface Limits {
  maxStoreBytes: number;
  maxMessages: number;
  maxMessageSize: number;
}

/** The seed messages: varied in structure, one large (for the never-reading clients), all addressed to KEEP. */
export function seedContents(): Buffer[] {
  const head = (subject: string, extra = ''): string =>
    `From: Seed <seed@fuzz.test>\r\nTo: ${KEEP}\r\nSubject: ${subject}\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '-')}@fuzz.test>\r\n${extra}`;
  const line = 'The quick brown fox jumps over the lazy dog, again and again, 0123456789.\r\n';
  return [
    Buffer.from(`${head('plain seed')}\r\nHello, your code is 482913.\r\n`),
    Buffer.from(
      `${head('multipart seed', 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n')}\r\n` +
        '--b1\r\nContent-Type: multipart/alternative; boundary="b2"\r\n\r\n--b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nText with a link https://example.test/reset?token=abc\r\n' +
        '--b2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p><a href="https://example.test/x">link</a> <img src="cid:img1"></p>\r\n--b2--\r\n' +
        '--b1\r\nContent-Type: application/pdf; name="a.pdf"\r\nContent-Disposition: attachment; filename="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n' +
        '--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@fuzz.test\r\nSubject: inner\r\n\r\ninner body\r\n--b1--\r\n',
    ),
    // Bare LF line ends: POP2 and POP3 must convert it to CRLF for every RETR, a fresh copy each time.
    Buffer.from(`${head('big seed').replace(/\r\n/g, '\n')}\n${line.replace('\r\n', '\n').repeat(Math.ceil((256 * 1024) / line.length))}`),
    Buffer.from(
      `${head('=?utf-8?B?w7xtbMOkdXRl?= and a long folded header', `X-Fuzz: 1\r\nX-Long: ${'word '.repeat(200).trim().replace(/(.{70}) /g, '$1\r\n ')}\r\nX-8bit: caf\u00e9\r\n`)}\r\n` +
        '.leading dot\r\n..two dots\r\n.\r\nnot the end\r\n',
      'latin1',
    ),
    Buffer.from(`${head('bare LF seed').replace(/\r\n/g, '\n')}\nline one\nline two\n`),
    Buffer.from(`${head('empty seed')}\r\n`),
  ];
}

/** The position of the large seed among the seeds, counting from 1 (its POP message number); its lines end in bare LF. */
export const BIG_SEED = 3;

/** SMTP as a plain client: sends each message and returns its id, checking every reply. */
export async function sendMessages(port: number, messages: readonly { to: string; raw: Buffer }[]): Promise<string[]> {
  const conn = await FuzzConn.connect(port);
  const model = new SmtpModel();
  conn.observe(model);
  const taken = { count: 0 };
  const expect = async (code: number, what: string): Promise<string> => {
    const reply = await model.next(taken, 10_000);
    if (reply?.code !== code) throw new Error(`SMTP ${what}: expected ${code}, got ${reply ? reply.lines.join(' | ') : 'nothing'}`);
    return reply.lines[reply.lines.length - 1]!;
  };
  try {
    await expect(220, 'greeting');
    conn.write('EHLO harness.fuzz.test\r\n');
    await expect(250, 'EHLO');
    const ids: string[] = [];
    for (const { to, raw } of messages) {
      conn.write(`MAIL FROM:<harness@fuzz.test>\r\nRCPT TO:<${to}>\r\nDATA\r\n`);
      await expect(250, 'MAIL');
      await expect(250, 'RCPT');
      await expect(354, 'DATA');
      const text = raw.toString('latin1').replace(/(^|\n)\./g, '$1..');
      conn.write(Buffer.from(`${text}${text.endsWith('\r\n') ? '' : '\r\n'}.\r\n`, 'latin1'));
      ids.push(/queued as (\S+)$/.exec(await expect(250, 'end of data'))![1]!);
    }
    conn.write('QUIT\r\n');
    await expect(221, 'QUIT');
    return ids;
  } finally {
    conn.drop();
  }
}

/** GET on the API with a deadline; null on timeout or a refused connection. */
export async function apiGet(apiUrl: string, path: string, ms: number): Promise<{ status: number; body: unknown; raw: Buffer } | null> {
  try {
    const response = await fetch(`${apiUrl}${path}`, { signal: AbortSignal.timeout(ms) });
    const raw = Buffer.from(await response.arrayBuffer());
    let body: unknown = null;
    if ((response.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(raw.toString('utf8'));
    return { status: response.status, body, raw };
  } catch {
    return null;
  }
}

/** Ids of every stored message (the store is kept well under 1000). */
export async function storedIds(apiUrl: string, ms: number, query?: string): Promise<Set<string> | null> {
  const result = await apiGet(apiUrl, `/api/messages?limit=1000${query ? `&query=${encodeURIComponent(query)}` : ''}`, ms);
  if (result?.status !== 200) return null;
  return new Set((result.body as { messages: { id: string }[] }).messages.map((m) => m.id));
}

/**
 * A normal client of each protocol after a batch: the exact greeting, then
 * NOOP (CAPA in POP3, HELO in POP2) answered exactly. Resolves with what
 * went wrong, or null.
 */
export async function probe(protocol: string, target: Target, limits: Limits, ms: number): Promise<string | null> {
  let conn: FuzzConn;
  try {
    conn = await FuzzConn.connect(target.ports[protocol as 'smtp'], { timeoutMs: ms });
  } catch (error) {
    return `${protocol}: a fresh client could not connect: ${(error as Error).message}`;
  }
  try {
    switch (protocol) {
      case 'smtp': {
        const model = new SmtpModel();
        conn.observe(model);
        if (!(await model.changes.until(() => model.replies.length >= 1, ms))) return 'smtp: a fresh client got no greeting';
        conn.write('EHLO probe.fuzz.test\r\nNOOP\r\nQUIT\r\n');
        if (!(await model.changes.until(() => model.replies.length >= 4 && model.ended, ms))) return `smtp: a fresh client got ${model.replies.length - 1} of 3 replies`;
        const got = model.replies.map((r) => r.lines.join('\n'));
        const want = [
          SMTP_GREETING,
          ['250-mailroom Nice to meet you, [127.0.0.1]', '250-PIPELINING', '250-8BITMIME', '250-SMTPUTF8', '250-ENHANCEDSTATUSCODES', '250-AUTH PLAIN LOGIN', `250 SIZE ${limits.maxMessageSize}`].join('\n'),
          '250 2.0.0 OK',
          '221 2.0.0 Bye',
        ];
        return got.join('\n') === want.join('\n') && model.problems.length === 0 ? null : `smtp: a fresh client got ${JSON.stringify(got)} ${model.problems.join('; ')}`;
      }
      case 'pop3': {
        const model = new Pop3Model(pop3Greeting(target.pid, target.hostname));
        conn.observe(model);
        conn.write('CAPA\r\nQUIT\r\n');
        if (!(await model.changes.until(() => model.settled(), ms))) return `pop3: a fresh client waited for ${model.waitingFor()}`;
        const capa = ['TOP', 'UIDL', 'USER', 'SASL PLAIN', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'EXPIRE NEVER', 'IMPLEMENTATION Mailroom'];
        if (model.capa.join('|') !== capa.join('|')) return `pop3: a fresh client got CAPA ${JSON.stringify(model.capa)}`;
        return model.problems.length === 0 ? null : `pop3: a fresh client: ${model.problems.join('; ')}`;
      }
      case 'pop2': {
        const model = new Pop2Model(target.hostname);
        conn.observe(model);
        conn.write('HELO probe2 x\r\nQUIT\r\n');
        if (!(await model.changes.until(() => model.settled(), ms))) return `pop2: a fresh client waited for ${model.waitingFor()}`;
        return model.problems.length === 0 ? null : `pop2: a fresh client: ${model.problems.join('; ')}`;
      }
      case 'imap': {
        const model = new ImapModel();
        conn.observe(model);
        conn.write('a NOOP\r\nb CAPABILITY\r\nc LOGOUT\r\n');
        if (!(await model.changes.until(() => model.ended, ms))) return 'imap: a fresh client did not get through NOOP, CAPABILITY and LOGOUT';
        const a = model.tagged('a')?.line;
        const b = model.tagged('b')?.line;
        const capability = model.untagged.find((line) => line.startsWith('* CAPABILITY'));
        if (a !== 'a OK NOOP completed' || b !== 'b OK CAPABILITY completed' || capability !== `* CAPABILITY ${IMAP_CAPABILITIES} AUTH=PLAIN`) {
          return `imap: a fresh client got ${JSON.stringify([a, capability, b])}`;
        }
        return model.problems.length === 0 ? null : `imap: a fresh client: ${model.problems.join('; ')}`;
      }
      default: {
        const health = await apiGet(`http://127.0.0.1:${target.ports.http}`, '/api/health', ms);
        return health?.status === 200 ? null : `http: GET /api/health answered ${health ? health.status : 'nothing'} within ${ms} ms`;
      }
    }
  } finally {
    conn.drop();
  }
}

/** CPU time of a process so far, user plus system, in clock ticks (from /proc). */
export function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** Samples the child's RSS from /proc every few milliseconds and keeps the peak, overall and since resetPhase(). */
export class RssSampler {
  peak = 0;
  phasePeak = 0;
  private timer: NodeJS.Timeout;

  constructor(private readonly pid: number, everyMs = 25) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  sample(): number {
    try {
      const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'))?.[1] ?? 0);
      this.peak = Math.max(this.peak, kb * 1024);
      this.phasePeak = Math.max(this.phasePeak, kb * 1024);
      return kb * 1024;
    } catch {
      return 0;
    }
  }

  /** Starts a new phase peak from now. */
  resetPhase(): void {
    this.phasePeak = 0;
    this.sample();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export interface Batch {
  protocol: string;
  first: number;
  count: number;
  concurrency: number;
  run(env: CaseEnv): Promise<void>;
}

/**
 * One fuzzing run against one Mailroom: cases in batches, with checks after
 * each, problems kept by protocol and tallies kept for the report.
 */
export class FuzzRun {
  readonly problems = new Map<string, string[]>();
  readonly tallies = new Map<string, number>();
  readonly held: FuzzConn[] = [];
  /** Set once Mailroom is dead or unresponsive: later batches are not run. */
  broken: string | null = null;

  constructor(
    readonly seed: number,
    readonly child: ChildMailroom,
    readonly target: Target,
    readonly replyMs: number,
  ) {}

  static target(child: ChildMailroom): Target {
    return { ports: { ...child.ports, pop2: child.ports.pop2! }, pid: child.pid, hostname: hostname() };
  }

  problem(protocol: string, text: string): void {
    const list = this.problems.get(protocol) ?? [];
    list.push(text);
    this.problems.set(protocol, list);
  }

  tally(name: string, n = 1): void {
    this.tallies.set(name, (this.tallies.get(name) ?? 0) + n);
  }

  /**
   * Runs cases first..first+count-1 of a protocol, `concurrency` at a time,
   * while a watchdog asks GET /api/health every second: two failures in a
   * row mark Mailroom broken (a crash, or a blocked event loop) and name the
   * cases that were running, and no more cases start.
   */
  async batch(batch: Batch, healthMs: number): Promise<void> {
    let next = batch.first;
    const end = batch.first + batch.count;
    const running = new Set<number>();
    let failures = 0;
    let finished = false;
    const watchdog = (async (): Promise<void> => {
      while (!finished && this.broken === null) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        if (finished) return;
        const inFlight = [...running].join(' ');
        const health = this.child.alive() ? await apiGet(this.child.apiUrl, '/api/health', healthMs) : null;
        failures = health?.status === 200 ? 0 : failures + 1;
        // Nothing Mailroom does should keep it from answering for seconds: a stall points at the cases running.
        if (failures === 1 && this.child.alive()) this.problem(batch.protocol, `GET /api/health got no answer within ${healthMs} ms while ${batch.protocol} cases ${inFlight} ran`);
        if (failures >= 2 && !finished) {
          // What each running case sent last: the command Mailroom hangs on is among them. Their connections are dropped.
          const last = FuzzConn.byCase()
            .filter(([id]) => id?.startsWith(`${batch.protocol} `))
            .map(([id, conn]) => `${id}: ...${conn.lastSent(120)}`);
          this.broken = `Mailroom ${this.child.alive() ? 'stopped answering GET /api/health' : 'exited'} while ${batch.protocol} cases ${inFlight} ran; what they sent last:\n${last.join('\n')}`;
          this.problem(batch.protocol, this.broken);
          for (const [, conn] of FuzzConn.byCase()) conn.drop();
          Changes.halt();
        }
      }
    })();
    const worker = async (): Promise<void> => {
      for (let index = next++; index < end && this.broken === null; index = next++) {
        running.add(index);
        const started = Date.now();
        let kind = 'unnamed';
        const env: CaseEnv = {
          target: this.target,
          protocol: batch.protocol,
          index,
          rng: Rng.for(this.seed, batch.protocol, index),
          // Once Mailroom is broken, what cases see is its consequence, not news.
          problem: (text) => {
            if (this.broken === null) this.problem(batch.protocol, `case ${index}: ${text}`);
          },
          tally: (name, n) => this.tally(name, n),
          kind: (name) => {
            kind = name;
          },
          replyMs: this.replyMs,
        };
        try {
          await currentCase.run(`${batch.protocol} ${index}`, () => batch.run(env));
        } catch (error) {
          env.problem(`the case failed: ${error instanceof Error ? error.message : String(error)}`);
        }
        running.delete(index);
        this.tally(`${batch.protocol} cases`);
        this.tally(`${batch.protocol} ${kind} cases`);
        this.tally(`${batch.protocol} ${kind} ms`, Date.now() - started);
      }
    };
    await Promise.all(Array.from({ length: batch.concurrency }, worker));
    finished = true;
    await watchdog;
    for (const conn of this.held.splice(0)) conn.drop();
  }

  /** After a batch: the process lives, health answers, and a fresh client of every protocol is served exactly. */
  async check(protocol: string, limits: Limits, healthMs: number): Promise<void> {
    if (this.broken !== null) return;
    if (!this.child.alive()) {
      this.broken = `Mailroom exited during the ${protocol} cases`;
      this.problem(protocol, this.broken);
      return;
    }
    const started = Date.now();
    const health = await apiGet(this.child.apiUrl, '/api/health', healthMs);
    if (health?.status !== 200) {
      this.broken = `GET /api/health answered ${health ? health.status : 'nothing'} within ${healthMs} ms after ${protocol} cases`;
      this.problem(protocol, this.broken);
      return;
    }
    const tookMs = Date.now() - started;
    if (tookMs > healthMs) this.problem(protocol, `GET /api/health took ${tookMs} ms`);
    for (const other of ['smtp', 'pop3', 'pop2', 'imap', 'http']) {
      const failure = await probe(other, this.target, limits, healthMs);
      if (failure) this.problem(protocol, `after the ${protocol} cases, ${failure}`);
    }
  }
}

