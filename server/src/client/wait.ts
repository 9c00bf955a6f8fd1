import { describeMessages, MailroomError, MailroomTimeoutError, timeoutMessage, UnexpectedMessageError } from './errors.js';
import { errorOf, type Http } from './http.js';
import { queryValue, type CompiledMatch } from './match.js';
import { Message } from './message.js';
import type { MessageDetail, MessagePage, MessageSummary } from './types.js';

/**
 * Where counting starts. `0` (the default): every stored message counts, so
 * mail that arrived before the call is found too. A message or its id: only
 * mail received after it. `'now'`: only mail arriving after the call starts.
 */
export type Cursor = 0 | 'now' | string | { id: string };

export interface WaitOptions {
  /** Milliseconds; the client's `timeout` option by default (10 s). */
  timeout?: number;
  after?: Cursor;
  signal?: AbortSignal;
}

export interface QuietOptions {
  /** Milliseconds of no matching mail that prove none was sent; default 1000. */
  within?: number;
  after?: Cursor;
  signal?: AbortSignal;
}

export interface ListOptions {
  /** At most this many, newest first; default 50, at most 1000. */
  limit?: number;
  offset?: number;
  signal?: AbortSignal;
}

/** The server's longest wait; longer ones are made of several. */
const MAX_WAIT_MS = 300_000;
/** How long past its own timeout an answer may take before the request is given up. */
const ANSWER_GRACE_MS = 30_000;

const seconds = (ms: number): string => String(Math.max(0, Math.round(ms) / 1000));

function cursorParam(cursor: Cursor): string | undefined {
  if (cursor === 0 || cursor === '0') return '0';
  if (cursor === 'now') return undefined;
  return typeof cursor === 'string' ? cursor : cursor.id;
}

function summaryOf(detail: MessageDetail): MessageSummary {
  const { id, from, to, cc, subject, date, receivedAt, size, read, tags, attachmentCount, snippet, envelope } = detail;
  return { id, from, to, cc, subject, date, receivedAt, size, read, tags, attachmentCount, snippet, envelope };
}

type PollAnswer = { kind: 'found'; body: unknown } | { kind: 'timeout'; arrived: MessageSummary[] };

/** One long poll of `GET /api/messages/wait`, bounded by its own timeout plus a grace. */
async function poll(http: Http, params: Record<string, string | number | undefined>, timeoutMs: number, signal: AbortSignal | undefined): Promise<PollAnswer> {
  const controller = new AbortController();
  const forward = (): void => controller.abort(signal?.reason);
  signal?.addEventListener('abort', forward);
  if (signal?.aborted) forward();
  const guard = setTimeout(() => controller.abort(new MailroomError(`Mailroom did not answer a ${timeoutMs} ms wait`, 0, 'unreachable')), timeoutMs + ANSWER_GRACE_MS);
  try {
    const response = await http.send('/messages/wait', { ...params, timeout: seconds(timeoutMs) }, { signal: controller.signal });
    if (response.status === 408) {
      const body = (await response.json()) as { arrived?: MessageSummary[] };
      return { kind: 'timeout', arrived: body.arrived ?? [] };
    }
    if (!response.ok) throw await errorOf(response);
    return { kind: 'found', body: await response.json() };
  } finally {
    clearTimeout(guard);
    signal?.removeEventListener('abort', forward);
  }
}

/** The newest message's id (or `0` when there is none): a cursor meaning "from now on" that survives several polls. */
async function nowCursor(http: Http, signal: AbortSignal | undefined): Promise<string> {
  const page = await http.json<MessagePage>('/messages', { limit: 1 }, signal ? { signal } : {});
  return page.messages[0]?.id ?? '0';
}

/**
 * Waits for `count` messages matching `match`, oldest first. The server's
 * query does the work; a client-side test (a RegExp subject) is applied to each
 * answer in turn, moving the cursor past the ones it rejects, so nothing is
 * polled on a timer: every request is a long poll that answers on arrival.
 */
export async function waitFor(http: Http, match: CompiledMatch, count: number, options: WaitOptions, defaultTimeout: number): Promise<Message[]> {
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new RangeError(`count must be a whole number from 1 to 1000, got ${count}`);
  const timeout = options.timeout ?? defaultTimeout;
  const started = Date.now();
  const deadline = started + timeout;
  let cursor = cursorParam(options.after ?? 0);
  // A "from now on" wait that takes several polls needs a fixed cursor, or what came between polls is lost.
  if (cursor === undefined && (match.test !== null || timeout > MAX_WAIT_MS)) cursor = await nowCursor(http, options.signal);
  const found: MessageDetail[] = [];
  const rejected: MessageSummary[] = [];
  let arrived: MessageSummary[] = [];
  for (;;) {
    const remaining = Math.max(0, deadline - Date.now());
    const slice = Math.min(remaining, MAX_WAIT_MS);
    const wanted = count - found.length;
    // With a client-side test each candidate is looked at alone; otherwise the server collects them all.
    const perPoll = match.test === null ? wanted : 1;
    const answer = await poll(
      http,
      { query: match.query || undefined, after: cursor, count: perPoll > 1 ? perPoll : undefined },
      slice,
      options.signal,
    );
    if (answer.kind === 'found') {
      const details = perPoll > 1 ? (answer.body as { messages: MessageDetail[] }).messages : [answer.body as MessageDetail];
      for (const detail of details) {
        if (match.test === null || match.test(detail)) found.push(detail);
        else rejected.push(summaryOf(detail));
        cursor = detail.id;
      }
      if (found.length >= count) return found.slice(0, count).map((d) => new Message(http, d));
      continue;
    }
    // What arrived after the current cursor; the rejected candidates came before it, so keep both.
    arrived = answer.arrived;
    if (Date.now() >= deadline || remaining === 0) break;
  }
  const what = count === 1 ? `a message matching ${match.description}` : `${count} messages matching ${match.description}`;
  const rejectedNewestFirst = [...rejected].reverse();
  const all = [...arrived, ...rejectedNewestFirst.filter((r) => !arrived.some((a) => a.id === r.id))];
  const inbox = match.address === undefined ? undefined : { address: match.address, messages: await arrivalsAt(http, match.address, options.after ?? 0, started) };
  throw new MailroomTimeoutError(timeoutMessage({ what, ms: timeout, arrived: all, rejected: rejectedNewestFirst, inbox }), all, rejectedNewestFirst);
}

/** An address's newest messages since the wait's cursor: what its own test sent, whatever else the server saw. */
async function arrivalsAt(http: Http, address: string, after: Cursor, started: number): Promise<MessageSummary[]> {
  try {
    const page = await http.json<MessagePage>('/messages', { query: `to:${queryValue(address)}`, limit: 10 });
    const cursor = cursorParam(after);
    // "From now on": by the clock, which only this report relies on.
    if (cursor === undefined) return page.messages.filter((m) => Date.parse(m.receivedAt) >= started);
    if (cursor === '0') return page.messages;
    const at = page.messages.findIndex((m) => m.id === cursor);
    return at < 0 ? page.messages : page.messages.slice(0, at);
  } catch {
    // The report is a courtesy; the timeout is the error.
    return [];
  }
}

/**
 * Resolves once `within` ms pass with no matching message (after the cursor),
 * and throws {@link UnexpectedMessageError} naming the ones that came. Uses the
 * server's quiet-period wait, so it takes `within` ms when nothing is sent.
 */
export async function expectNone(http: Http, match: CompiledMatch, options: QuietOptions): Promise<void> {
  const within = options.within ?? 1000;
  const quiet = Math.min(Math.max(within, 50), MAX_WAIT_MS);
  const answer = await poll(
    http,
    { query: match.query || undefined, after: cursorParam(options.after ?? 0), quiet: seconds(quiet) },
    Math.min(quiet + ANSWER_GRACE_MS, MAX_WAIT_MS),
    options.signal,
  );
  const candidates = answer.kind === 'found' ? (answer.body as { messages: MessageSummary[] }).messages : answer.arrived;
  const unexpected = match.test === null ? candidates : candidates.filter(match.test);
  if (unexpected.length === 0) return;
  const listed = answer.kind === 'found' ? [...unexpected].reverse() : unexpected;
  throw new UnexpectedMessageError(
    `Expected no message matching ${match.description} within ${within} ms, but ${listed.length === 1 ? '1 arrived' : `${listed.length} arrived`} (newest first):\n${describeMessages(listed)}`,
    listed,
  );
}

export async function list(http: Http, match: CompiledMatch, options: ListOptions): Promise<MessagePage> {
  const page = await http.json<MessagePage>(
    '/messages',
    { query: match.query || undefined, limit: options.limit, offset: options.offset },
    options.signal ? { signal: options.signal } : {},
  );
  return match.test === null ? page : { ...page, messages: page.messages.filter(match.test) };
}

/** Deletes the matching messages; with a client-side test, one by one after listing them. */
export async function clear(http: Http, match: CompiledMatch): Promise<number> {
  if (match.test === null) return (await http.json<{ deleted: number }>('/messages', { query: match.query || undefined }, { method: 'DELETE' })).deleted;
  const ids: string[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await http.json<MessagePage>('/messages', { query: match.query || undefined, limit: 1000, offset });
    ids.push(...page.messages.filter(match.test).map((m) => m.id));
    if (offset + page.messages.length >= page.total || page.messages.length === 0) break;
  }
  let deleted = 0;
  for (const id of ids) {
    const response = await http.send(`/messages/${encodeURIComponent(id)}`, {}, { method: 'DELETE' });
    if (response.ok) deleted += 1;
    else if (response.status !== 404) throw await errorOf(response);
  }
  return deleted;
}
