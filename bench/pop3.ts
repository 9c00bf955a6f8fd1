import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CHILD_MAX_MESSAGES } from './lib/child-protocol.js';
import { MailroomChild } from './lib/mailroom-child.js';
import { makeMessages } from './lib/messages.js';
import { countOption } from './lib/options.js';
import { table } from './lib/report.js';
import { runLoad } from './lib/smtp-load.js';
import { formatInt } from './lib/stats.js';

/*
 * npm run bench:pop3 [-- --messages N --batch N --connections N --smoke]
 * (or BENCH_MESSAGES, BENCH_BATCH, BENCH_CONNECTIONS in the environment)
 *
 * Mailroom runs in a child process and is loaded over SMTP with N messages
 * of ~4 KB; then ONE POP3 connection times LIST, UIDL and a RETR of every
 * message, the RETRs pipelined in batches. The same again with 2N messages
 * in a fresh child: the time per message should stay about the same.
 * --smoke does it all with 200 messages and no target, so that
 * test/integration/bench-smoke.test.ts can keep this script working in seconds.
 */

const MESSAGE_SIZE = 4096;
const START_TIMEOUT_MS = 30_000;
const REPLY_TIMEOUT_MS = 30_000;
const TARGET_MB_PER_SECOND = 50;

interface Settings {
  messages: number;
  batch: number;
  connections: number;
  /** A run too short for its throughput to be judged against TARGET_MB_PER_SECOND. */
  smoke: boolean;
}

function readSettings(): Settings {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string' },
      batch: { type: 'string' },
      connections: { type: 'string' },
      smoke: { type: 'boolean', default: false },
    },
  });
  return {
    messages: countOption('messages', values.messages ?? process.env.BENCH_MESSAGES, values.smoke ? 200 : 10_000, 1, CHILD_MAX_MESSAGES / 2),
    batch: countOption('batch', values.batch ?? process.env.BENCH_BATCH, 100, 1, 10_000),
    connections: countOption('connections', values.connections ?? process.env.BENCH_CONNECTIONS, 10, 1, 1000),
    smoke: values.smoke,
  };
}

interface Response {
  status: string;
  /** A multi-line response's data, still byte-stuffed, with the CRLF before the terminating dot; empty otherwise. */
  body: Buffer;
}

interface Pending {
  label: string;
  multiline: boolean;
  resolve: (response: Response) => void;
  reject: (error: Error) => void;
}

const CRLF = Buffer.from('\r\n');
/** A multi-line response ends with a line holding only a dot (RFC 1939 §3). */
const TERMINATOR = Buffer.from('\r\n.\r\n');

/**
 * A raw POP3 client over one socket. Commands may be pipelined; replies are
 * matched to them in order. A multi-line reply is the status line, then data
 * up to the first CRLF "." CRLF, where the status line's own CRLF may be the
 * first CRLF of it (an empty listing).
 */
class Pop3Connection {
  /** Octets read from the socket, replies and data together. */
  received = 0;
  private buffer: Buffer = Buffer.alloc(0);
  /** Where the search for the terminator resumes: the bytes before it were searched already. */
  private scanned = 0;
  private readonly pending: Pending[] = [];
  private failure: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.drain();
    });
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('the POP3 connection closed')));
    socket.setTimeout(REPLY_TIMEOUT_MS, () => {
      this.fail(new Error(`no POP3 reply within ${REPLY_TIMEOUT_MS} ms`));
      socket.destroy();
    });
  }

  static async open(port: number): Promise<Pop3Connection> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    socket.setNoDelay(true);
    const connection = new Pop3Connection(socket);
    await connection.expect('greeting', false);
    return connection;
  }

  /** Writes several commands at once and returns a promise per reply. */
  pipeline(commands: readonly { line: string; multiline: boolean }[]): Promise<Response>[] {
    const replies = commands.map(({ line, multiline }) => this.expect(line, multiline));
    this.socket.write(commands.map(({ line }) => `${line}\r\n`).join(''));
    return replies;
  }

  command(line: string, multiline = false): Promise<Response> {
    return this.pipeline([{ line, multiline }])[0]!;
  }

  close(): void {
    this.socket.removeAllListeners('close');
    this.socket.destroy();
  }

  private expect(label: string, multiline: boolean): Promise<Response> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.pending.push({ label, multiline, resolve, reject }));
  }

  private drain(): void {
    while (this.pending.length > 0) {
      const next = this.pending[0]!;
      const eol = this.buffer.indexOf(CRLF);
      if (eol < 0) return;
      const status = this.buffer.toString('latin1', 0, eol);
      if (!status.startsWith('+OK')) {
        return this.fail(new Error(`${next.label}: ${status}`));
      }
      let body: Buffer = Buffer.alloc(0);
      let consumed = eol + 2;
      if (next.multiline) {
        const end = this.buffer.indexOf(TERMINATOR, Math.max(eol, this.scanned));
        if (end < 0) {
          // Keep the last four bytes unsearched: the terminator may straddle the next chunk.
          this.scanned = Math.max(eol, this.buffer.length - (TERMINATOR.length - 1));
          return;
        }
        body = this.buffer.subarray(eol + 2, Math.max(eol + 2, end + 2));
        consumed = end + TERMINATOR.length;
      }
      this.buffer = this.buffer.subarray(consumed);
      this.scanned = 0;
      this.pending.shift();
      next.resolve({ status, body });
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const pending of this.pending.splice(0)) pending.reject(error);
  }
}

/** The octets of a RETR's data once the byte-stuffing is undone. */
function unstuffedLength(body: Buffer): number {
  let stuffed = body[0] === 0x2e ? 1 : 0;
  for (let i = body.indexOf('\n.'); i >= 0; i = body.indexOf('\n.', i + 2)) stuffed += 1;
  return body.length - stuffed;
}

/** Sends RETR for messages 1..count, `batch` at a time with two batches in flight, checking each size against LIST. */
async function retrieveAll(pop3: Pop3Connection, sizes: readonly number[], count: number, batch: number): Promise<number> {
  let octets = 0;
  const inFlight: Promise<void>[] = [];
  for (let first = 1; first <= count; first += batch) {
    if (inFlight.length >= 2) await inFlight.shift();
    const numbers = Array.from({ length: Math.min(batch, count - first + 1) }, (_, i) => first + i);
    const replies = pop3.pipeline(numbers.map((n) => ({ line: `RETR ${n}`, multiline: true })));
    inFlight.push(
      Promise.all(replies).then((responses) => {
        responses.forEach(({ status, body }, i) => {
          const n = numbers[i]!;
          const size = sizes[n - 1]!;
          const length = body.length === size ? size : unstuffedLength(body);
          if (status !== `+OK ${size} octets` || length !== size) {
            throw new Error(`RETR ${n}: "${status}" with ${length} octets, LIST said ${size}`);
          }
          octets += size;
        });
      }),
    );
    // Nothing may reject unobserved while an older batch is awaited.
    inFlight[inFlight.length - 1]!.catch(() => undefined);
  }
  await Promise.all(inFlight);
  return octets;
}

interface RunFigures {
  messages: number;
  loadSeconds: number;
  loginMs: number;
  listUidlMs: number;
  totalMs: number;
  octets: number;
  received: number;
}

async function login(port: number): Promise<Pop3Connection> {
  const pop3 = await Pop3Connection.open(port);
  await Promise.all(pop3.pipeline([
    { line: 'USER bench', multiline: false },
    { line: 'PASS bench', multiline: false },
  ]));
  return pop3;
}

async function benchRun(count: number, settings: Settings): Promise<RunFigures> {
  const server = await MailroomChild.start(START_TIMEOUT_MS);
  try {
    const messages = makeMessages('pop3', count, MESSAGE_SIZE);
    const load = await runLoad({ host: '127.0.0.1', port: server.smtpPort, messages, connections: settings.connections, replyTimeoutMs: REPLY_TIMEOUT_MS });
    const info = await server.info();
    if (info.messages !== count) throw new Error(`Mailroom holds ${info.messages} messages after the load, expected ${count}`);

    // Untimed: the same commands on a first session, so that both sides' code is optimised and the
    // store's buffers are settled before the timed one; its QUIT deletes nothing.
    const warm = await login(server.pop3Port);
    const warmSizes = parseList((await warm.command('LIST', true)).body, count);
    await retrieveAll(warm, warmSizes, count, settings.batch);
    await warm.command('QUIT');
    warm.close();

    const loginStart = performance.now();
    const pop3 = await login(server.pop3Port);
    const start = performance.now();
    const [list, uidl] = await Promise.all(pop3.pipeline([
      { line: 'LIST', multiline: true },
      { line: 'UIDL', multiline: true },
    ]));
    const sizes = parseList(list!.body, count);
    const ids = uidl!.body.toString('latin1').split('\r\n').filter(Boolean);
    if (ids.length !== count || new Set(ids.map((line) => line.split(' ')[1])).size !== count) {
      throw new Error(`UIDL listed ${ids.length} lines, expected ${count} distinct ids`);
    }
    const listed = performance.now();
    const octets = await retrieveAll(pop3, sizes, count, settings.batch);
    const end = performance.now();
    await pop3.command('QUIT');
    pop3.close();
    return {
      messages: count,
      loadSeconds: load.wallMs / 1000,
      loginMs: start - loginStart,
      listUidlMs: listed - start,
      totalMs: end - start,
      octets,
      received: pop3.received,
    };
  } finally {
    await server.stop();
  }
}

/** LIST's "n size" lines, checked to number 1..count in order. */
function parseList(body: Buffer, count: number): number[] {
  const lines = body.toString('latin1').split('\r\n').filter(Boolean);
  if (lines.length !== count) throw new Error(`LIST gave ${lines.length} lines, expected ${count}`);
  return lines.map((line, i) => {
    const [n, size] = line.split(' ');
    if (Number(n) !== i + 1) throw new Error(`LIST line ${i + 1} is "${line}"`);
    return Number(size);
  });
}

const megabytes = (octets: number): number => octets / 1e6;
const perSecond = (amount: number, ms: number): number => amount / (ms / 1000);
const perMessageUs = (run: RunFigures): number => (run.totalMs * 1000) / run.messages;

function render(runs: readonly RunFigures[], settings: Settings): string {
  const rows = [
    ['messages', 'SMTP load', 'login', 'LIST+UIDL', 'LIST+UIDL+RETR', 'message MB', 'MB/s', 'messages/s', 'µs/message', `>= ${TARGET_MB_PER_SECOND} MB/s`],
    ...runs.map((run) => {
      const rate = perSecond(megabytes(run.octets), run.totalMs);
      return [
        formatInt(run.messages),
        `${run.loadSeconds.toFixed(1)} s`,
        `${run.loginMs.toFixed(1)} ms`,
        `${run.listUidlMs.toFixed(1)} ms`,
        `${run.totalMs.toFixed(0)} ms`,
        megabytes(run.octets).toFixed(1),
        rate.toFixed(1),
        formatInt(Math.round(perSecond(run.messages, run.totalMs))),
        perMessageUs(run).toFixed(1),
        rate >= TARGET_MB_PER_SECOND ? 'PASS' : 'MISS',
      ];
    }),
  ];
  const [small, large] = runs as [RunFigures, RunFigures];
  const ratio = perMessageUs(large) / perMessageUs(small);
  const passed = runs.every((run) => perSecond(megabytes(run.octets), run.totalMs) >= TARGET_MB_PER_SECOND);
  return [
    `POP3 retrieval over one connection: ~${MESSAGE_SIZE}-byte messages, RETR pipelined ${settings.batch} at a time (two batches in flight)`,
    'Timed from LIST to the last RETR reply; MB = 10^6 octets of message as LIST counts them (CRLF, before byte-stuffing)',
    '',
    table(settings.smoke ? rows.map((row) => row.slice(0, -1)) : rows),
    '',
    `time per message, ${formatInt(large.messages)} vs ${formatInt(small.messages)}: ${ratio.toFixed(2)}x (1.00 is linear; a quadratic step would show about 2x)`,
    ...(settings.smoke ? [] : [`target ${TARGET_MB_PER_SECOND} MB/s: ${passed ? 'PASS' : 'MISS'}`]),
  ].join('\n');
}

async function main(): Promise<void> {
  const settings = readSettings();
  const watchdog = setTimeout(() => {
    process.stderr.write('bench: still running after the time limit, giving up\n');
    process.exit(1);
  }, 5 * 60_000 + settings.messages * 30);
  watchdog.unref();

  const runs: RunFigures[] = [];
  for (const count of [settings.messages, settings.messages * 2]) runs.push(await benchRun(count, settings));
  process.stdout.write(`${render(runs, settings)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
