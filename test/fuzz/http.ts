import { Changes, FuzzConn, show, type Observer } from './conn.js';
import type { CaseEnv } from './env.js';
import { KEEP, SCRATCH } from './env.js';
import { bytes, HOSTILE_NUMBERS, junk, mutateArg, utf8 } from './mutate.js';
import type { Rng } from './random.js';

/** A request as the case sent it, and what its answer must be. */
export interface SentRequest {
  method: string;
  path: string;
  /**
   * Built from valid parts, as a browser could send it (whatever its path,
   * query or body hold): its answer must carry the security headers.
   */
  wellFormed: boolean;
  /** An answer is due within the reply timeout (not a long poll, not a request left incomplete). */
  answerDue: boolean;
  /** What the status must be, when the case knows: a problem text for a wrong one. */
  expect?: (status: number) => string | null;
  /** For socket.io (engine.io answers in its own JSON form). */
  socketIo?: boolean;
}

interface Response {
  status: number;
  headers: Map<string, string[]>;
  body: Buffer;
}

/**
 * Reads HTTP/1.1 responses off a raw connection (status line, header fields,
 * a body by Content-Length, chunked, or to the close) and pairs them with
 * the requests in order. Checks (README, HTTP API and Security): no 5xx;
 * every 4xx carries a JSON `{ error, message }` body; every answer to a
 * well-formed request carries `X-Content-Type-Options: nosniff` and
 * `Cross-Origin-Resource-Policy: same-origin`; JSON says what it is and
 * parses; no more responses than requests; framing is sound.
 */
export class HttpModel implements Observer {
  readonly problems: string[] = [];
  readonly changes = new Changes();
  readonly requests: SentRequest[] = [];
  readonly responses: Response[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private head: { status: number; headers: Map<string, string[]> } | null = null;
  private upgraded = false;
  /** Responses no longer pair with requests (see check()). */
  private outOfStep = false;
  ended = false;

  sent(): void {}

  received(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    this.parse(false);
    this.changes.notify();
  }

  serverClosed(): void {
    this.ended = true;
    this.parse(true);
    const next = this.requests[this.responses.length];
    if (!this.outOfStep && next?.wellFormed && next.answerDue && this.cutByLater(next)) return this.changes.notify();
    // With a malformed request still unanswered, the parser's error may stand in the place of an earlier answer (see cutByLater).
    const malformedPending = this.requests.slice(this.responses.length).some((r) => !r.wellFormed);
    if ((this.head !== null || this.buffer.length > 0) && !this.outOfStep && !malformedPending) this.problem(`the server closed in the middle of a response: ${show(this.buffer)}`);
    // A close is fine after a malformed request (answered with 400 and a close) or a response saying Connection: close.
    const last = this.responses[this.responses.length - 1];
    const fine = this.requests.slice(0, this.responses.length + 1).some((r) => !r.wellFormed) || (last?.headers.get('connection') ?? []).some((v) => /close/i.test(v));
    if (next?.answerDue && !fine && !this.outOfStep) this.problem(`the server closed without answering ${next.method} ${show(next.path, 120)}`);
    this.changes.notify();
  }

  /**
   * Node's HTTP server answers a parse error in a pipelined request and
   * closes, dropping answers still due to well-formed requests queued before
   * it. No browser or HTTP client library pipelines, so no real client meets
   * this; what matters, that the malformed request is refused and the server
   * stays well, is checked everywhere else. The rest of such a connection is
   * not checked.
   */
  private cutByLater(request: SentRequest): boolean {
    const index = this.requests.indexOf(request);
    if (!this.requests.slice(index + 1).some((r) => !r.wellFormed)) return false;
    this.outOfStep = true;
    return true;
  }

  problem(text: string): void {
    if (this.problems.length < 5) this.problems.push(text);
  }

  /** Every request whose answer is due has one (or the server closed). */
  settled(): boolean {
    const due = this.requests.filter((r) => r.answerDue).length;
    return this.ended || this.responses.length >= due;
  }

  private parse(closed: boolean): void {
    for (;;) {
      if (this.upgraded) {
        this.buffer = Buffer.alloc(0);
        return;
      }
      if (this.head === null) {
        const end = this.buffer.indexOf('\r\n\r\n');
        if (end < 0) {
          if (this.buffer.length > 64 * 1024) this.problem(`response head over 64 KiB: ${show(this.buffer)}`);
          return;
        }
        const lines = this.buffer.toString('latin1', 0, end).split('\r\n');
        this.buffer = this.buffer.subarray(end + 4);
        const status = /^HTTP\/1\.[01] (\d{3})(?: [\t\x20-\x7e\x80-\xff]*)?$/.exec(lines[0]!);
        if (!status) {
          this.problem(`malformed status line ${show(lines[0]!)}`);
          this.buffer = Buffer.alloc(0);
          return;
        }
        const headers = new Map<string, string[]>();
        for (const line of lines.slice(1)) {
          const field = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n\0]*?)[ \t]*$/.exec(line);
          if (!field) this.problem(`malformed header line ${show(line)}`);
          else headers.set(field[1]!.toLowerCase(), [...(headers.get(field[1]!.toLowerCase()) ?? []), field[2]!]);
        }
        this.head = { status: Number(status[1]), headers };
        if (this.head.status === 101) {
          // Switching protocols: what follows is not HTTP.
          this.responses.push({ status: 101, headers, body: Buffer.alloc(0) });
          this.upgraded = true;
          this.head = null;
          this.buffer = Buffer.alloc(0);
          return;
        }
        if (this.head.status < 200) {
          // 1xx: interim, no body, not an answer.
          this.head = null;
          continue;
        }
      }
      const { status, headers } = this.head;
      const request = this.requests[this.responses.length];
      const noBody = request?.method === 'HEAD' || status === 204 || status === 304;
      let body: Buffer;
      const te = headers.get('transfer-encoding')?.join(',').toLowerCase();
      const cl = headers.get('content-length');
      if (noBody) {
        body = Buffer.alloc(0);
      } else if (te !== undefined) {
        if (te !== 'chunked') this.problem(`transfer-encoding ${te}`);
        const chunked = this.chunked();
        if (chunked === null) return;
        body = chunked;
      } else if (cl !== undefined) {
        const length = Number(cl[0]);
        if (cl.length > 1 || !/^\d+$/.test(cl[0]!)) this.problem(`content-length ${show(cl.join(', '))}`);
        if (this.buffer.length < length) return;
        body = this.buffer.subarray(0, length);
        this.buffer = this.buffer.subarray(length);
      } else {
        if (!closed) return;
        body = this.buffer;
        this.buffer = Buffer.alloc(0);
      }
      this.head = null;
      this.responses.push({ status, headers, body });
      this.check({ status, headers, body }, request);
    }
  }

  /** A chunked body, or null until it is all here. */
  private chunked(): Buffer | null {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const eol = this.buffer.indexOf('\r\n', at);
      if (eol < 0) return null;
      const sizeText = this.buffer.toString('latin1', at, eol);
      const size = /^([0-9a-fA-F]+)(;.*)?$/.exec(sizeText)?.[1];
      if (size === undefined) {
        this.problem(`malformed chunk size ${show(sizeText)}`);
        this.buffer = Buffer.alloc(0);
        return Buffer.alloc(0);
      }
      const n = parseInt(size, 16);
      if (n === 0) {
        const end = this.buffer.indexOf('\r\n\r\n', eol);
        if (end < 0) return null;
        this.buffer = this.buffer.subarray(end + 4);
        return Buffer.concat(parts);
      }
      if (this.buffer.length < eol + 2 + n + 2) return null;
      parts.push(this.buffer.subarray(eol + 2, eol + 2 + n));
      at = eol + 2 + n + 2;
    }
  }

  private check(response: Response, request: SentRequest | undefined): void {
    if (this.outOfStep) return;
    const what = request ? `${request.method} ${show(request.path, 120)}` : 'no request';
    const { status, headers, body } = response;
    if (!request) return this.problem(`a response (${status}) to no request: ${show(body)}`);
    // Fastify's clientErrorHandler writes a parse error for a later pipelined request at once, in place of the answers still due.
    // The parser's own error (server/src/api/raw-errors.ts) in the place of an earlier request's answer.
    if (request.wellFormed && status >= 400 && /"message":"(Malformed HTTP request|The request header is too large)"/.test(body.toString('latin1')) && this.cutByLater(request)) return;
    if (status >= 500) this.problem(`${what} answered ${status}: ${show(body)}`);
    const wrong = request.expect?.(status);
    if (wrong) this.problem(`${what} answered ${status}: ${wrong}; body ${show(body, 160)}`);
    const type = headers.get('content-type')?.[0] ?? '';
    const socketIo = request.socketIo ?? request.path.startsWith('/socket.io');
    if (status >= 400 && request.method !== 'HEAD' && !socketIo) {
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        // Reported below.
      }
      const ok = typeof parsed === 'object' && parsed !== null && typeof (parsed as { error?: unknown }).error === 'string' && typeof (parsed as { message?: unknown }).message === 'string';
      if (!ok || !type.includes('json')) this.problem(`${what} answered ${status} without a JSON { error, message } body: ${type || 'no content-type'}, ${show(body)}`);
    }
    if (status < 300 && type.includes('json') && request.method !== 'HEAD') {
      try {
        JSON.parse(body.toString('utf8'));
      } catch {
        this.problem(`${what} answered ${status} with JSON that does not parse: ${show(body)}`);
      }
    }
    if (request.wellFormed) {
      const missing = [
        ['x-content-type-options', 'nosniff'],
        ['cross-origin-resource-policy', 'same-origin'],
      ].filter(([name, value]) => !(headers.get(name!) ?? []).some((v) => v.toLowerCase() === value));
      if (missing.length > 0) this.problem(`${what} answered ${status} without ${missing.map(([n, v]) => `${n}: ${v}`).join(' and ')}`);
    }
  }
}

/** What the HTTP cases aim at: stored message ids, by kind. */
export interface HttpTargets {
  seeds: readonly string[];
  scratch: readonly string[];
}

const ROUTES = [
  '/api/messages', '/api/messages/{id}', '/api/messages/{id}/raw', '/api/messages/{id}/parts', '/api/messages/{id}/parts/{part}',
  '/api/messages/{id}/parts/{part}/raw', '/api/messages/{id}/attachments/{part}', '/api/messages/{id}/links', '/api/messages/{id}/codes',
  '/api/messages/export', '/api/messages/wait', '/api/mailboxes', '/api/info', '/api/health', '/api/smtp/rules', '/api/openapi.json', '/',
  '/index.html', '/favicon.ico', '/assets/', '/api/', '/api', '/socket.io/',
];
const QUERY_TERMS = [
  'fuzz', 'from:keep', `to:${KEEP}`, 'to:fuzz.test', 'subject:"big seed"', 'header:X-Fuzz=1', 'header:X-Fuzz', 'has:attachment', 'is:read', 'is:unread',
  'before:2026-11-27', 'after:2026-13-45T99:99Z', 'before:0000-00-00', '-from:x', '"exact phrase"', '"unterminated', 'message-id:<x@y>', 'cc:a@b',
  'unknown:prefix', '-', ':', '""', '\\', 'é', '%', '*', '(', ')',
];
const PATTERNS = ['\\d{6}', '(a+)+$', '(\\d)(?=x)', '(?<=a)b', '(\\w)\\1', '[', '\\p{L}+', '.*.*.*.*.*x', '(?:a|a)*b', 'x'.repeat(201), '((((((((((x))))))))))', '\\', '(?i)code'];
const HOSTS = (port: number): string[] => [`127.0.0.1:${port}`, `127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, '127.0.0.1', 'evil.test', 'a.localhost', '[::1', ':', '127.0.0.1:99999', 'x'.repeat(300), '0x7f.1'];
const ORIGINS = (port: number): (string | null)[] => [null, null, null, `http://127.0.0.1:${port}`, 'http://evil.test', 'null', 'file://', `http://localhost:${port}`, 'http://127.0.0.1', '%'];

function encode(rng: Rng, value: string): string {
  // Mostly proper percent-encoding; sometimes raw or broken.
  if (rng.chance(0.85)) return encodeURIComponent(value).replace(/%20/g, rng.chance(0.5) ? '+' : '%20');
  return rng.pick([value.replace(/[\s#]/g, '_'), `${encodeURIComponent(value)}%`, `%zz${encodeURIComponent(value)}`, `${encodeURIComponent(value)}%00`, '%ff%fe']);
}

function queryValue(rng: Rng): string {
  const terms = Array.from({ length: rng.int(1, 4) }, () => rng.pick(QUERY_TERMS));
  if (rng.chance(0.1)) terms.push('x'.repeat(rng.pick([1000, 70_000])));
  if (rng.chance(0.05)) terms.push(...Array.from({ length: 500 }, (_, i) => `w${i}`));
  return mutateArg(rng, terms.join(' '), 0.2, [300, 5000]).toString('utf8');
}

/** A path for a GET-like request: a route with ids, part ids and query parameters, mutated. */
function path(rng: Rng, ids: readonly string[]): { path: string; slow: boolean } {
  const id = rng.weighted<() => string>([
    [6, () => rng.pick(ids)],
    [1, () => 'AAAAAAAAAAAAAAAA'],
    [1, () => encode(rng, mutateArg(rng, rng.pick(ids), 0.8, [65, 300, 5000]).toString('latin1'))],
    [1, () => rng.pick(['%2e%2e', '..', '.', '%2F', 'x%00y', '%ff', '%', 'a/b', 'a?b', '🙂', ''])],
  ])();
  const part = rng.pick(['1', '2', '1.1', '2.1', 'TEXT', '2.TEXT', '0', '1.2.3.4.5.6.7.8.9.10', '-1', '99999999999', 'HEADER', '1.MIME', '', '%2e%2e', 'x'.repeat(100)]);
  let route = rng.pick(ROUTES).replace('{id}', id).replace('{part}', part);
  if (rng.chance(0.05)) route = route.replace(/\//g, rng.pick(['//', '/./', '\\']));
  if (rng.chance(0.03)) route = `${route}${rng.pick(['#frag', '?', '??', '&', ';x'])}`;
  const params: string[] = [];
  if (rng.chance(0.5)) params.push(`query=${encode(rng, queryValue(rng))}`);
  if (rng.chance(0.3)) params.push(`limit=${encode(rng, rng.pick([...HOSTILE_NUMBERS, '50', '1000', '1001']))}`);
  if (rng.chance(0.3)) params.push(`offset=${encode(rng, rng.pick([...HOSTILE_NUMBERS, '0', '10']))}`);
  if (route.endsWith('/codes') && rng.chance(0.7)) params.push(`pattern=${encode(rng, rng.pick(PATTERNS))}`);
  if (route.includes('/parts/') && rng.chance(0.3)) params.push(`download=${rng.pick(['1', '0', 'yes', ''])}`);
  // A wait whose timeout the server cannot read (a mangled route such as `wait??`) lasts its default 30 s.
  let slow = route.includes('/messages/wait');
  if (route === '/api/messages/wait') {
    const timeout = rng.pick(['0', '0.1', '0.3', '1', 'abc', '-1', '301', '1e309', '30', null]);
    if (timeout !== null) params.push(`timeout=${timeout}`);
    if (rng.chance(0.3)) params.push(`after=${encode(rng, rng.pick([...ids, '0', 'nope', 'x'.repeat(65)]))}`);
    if (rng.chance(0.2)) params.push(`count=${rng.pick(['1', '0', '1001', '5'])}`);
    if (rng.chance(0.2)) params.push(`quiet=${rng.pick(['0.05', '0', '301', '0.2'])}`);
    slow = true;
  }
  if (route.startsWith('/socket.io')) params.push(`EIO=${rng.pick(['4', '3', '5', 'x'])}`, `transport=${rng.pick(['polling', 'websocket', 'x'])}`, ...(rng.chance(0.3) ? [`sid=${encode(rng, mutateArg(rng, 'abc', 0.8).toString('latin1'))}`, 'j=0'] : []));
  rng.chance(0.3) && params.reverse();
  return { path: params.length > 0 ? `${route}?${params.join('&')}` : route, slow };
}

/** Header lines of a request a browser could send: host, origin, fetch metadata, credentials and the rest, hostile in value. */
function headers(rng: Rng, port: number): string[] {
  const lines: string[] = [];
  const host = rng.pick(HOSTS(port));
  if (rng.chance(0.99)) lines.push(`Host: ${host}`);
  const origin = rng.pick(ORIGINS(port));
  if (origin !== null) lines.push(`Origin: ${origin}`);
  if (rng.chance(0.2)) lines.push(`Sec-Fetch-Site: ${rng.pick(['cross-site', 'same-site', 'same-origin', 'none', 'x'])}`, `Sec-Fetch-Mode: ${rng.pick(['navigate', 'cors', 'no-cors'])}`);
  if (rng.chance(0.1)) lines.push(`Authorization: ${rng.pick(['Bearer x', 'Basic !!!', 'Basic ' + Buffer.from('a:b').toString('base64'), 'Digest', '', 'Bearer ' + 'x'.repeat(5000)])}`);
  if (rng.chance(0.2)) lines.push(`Accept: ${rng.pick(['*/*', 'application/json', 'text/html', 'x/y;q=oops', 'a'.repeat(3000)])}`);
  if (rng.chance(0.1)) lines.push(`Cookie: ${'c=1; '.repeat(rng.int(1, 300))}`);
  if (rng.chance(0.1)) lines.push(`Range: ${rng.pick(['bytes=0-10', 'bytes=-1', 'bytes=99999999999-', 'bytes=5-1', 'x'])}`);
  if (rng.chance(0.05)) lines.push(`If-None-Match: ${rng.pick(['*', '"x"', 'W/"1"'])}`, `If-Modified-Since: ${rng.pick(['Thu, 01 Jan 1970 00:00:00 GMT', 'garbage'])}`);
  if (rng.chance(0.05)) lines.push(`Accept-Encoding: ${rng.pick(['gzip, br', 'identity;q=0', '*;q=0', 'x'])}`);
  if (rng.chance(0.05)) for (let i = rng.int(10, 90); i > 0; i--) lines.push(`X-Fuzz-${i}: ${'v'.repeat(rng.int(0, 100))}`);
  return lines;
}

/** A JSON body for PATCH /api/messages/:id or PUT /api/smtp/rules: right, wrong in type, deep, huge, polluting, or not JSON. */
function jsonBody(rng: Rng, rules: boolean): string {
  const rule = (): unknown =>
    rng.pick<unknown>([
      { on: 'rcpt', match: '*@never.fuzz.test', reply: { code: 550, text: 'No' } },
      { on: rng.pick(['mail', 'rcpt', 'data', 'size', 'x', 1]), match: rng.pick(['*', '>1MB', 'a'.repeat(10_000), '', null, '**********a']), reply: { code: rng.pick([99, 421, 600, '550', 550.5]), text: rng.pick(['x', '\r\n250 ok', 'é', 'x'.repeat(600)]) } },
      { on: 'mail', match: '*@never.fuzz.test', delay: rng.pick([0, 60_000, 60_001, -1, 1e308]) },
      { on: 'rcpt', match: '*@never.fuzz.test', probability: rng.pick([0, 1, 2, -0.5, 'x']) },
      null,
      [],
      'rcpt:*=550 x',
    ]);
  const value = rng.weighted<() => unknown>([
    [4, () => (rules ? { rules: Array.from({ length: rng.int(0, 4) }, rule) } : { read: rng.pick([true, false]) })],
    [2, () => (rules ? { rules: rule() } : { read: rng.pick<unknown>(['true', 1, null, [], {}, 'yes']) })],
    [1, () => ({ ...(rules ? { rules: [] } : { read: true }), extra: 1 })],
    [1, () => JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}}}')],
    [1, () => (rules ? { rules: Array.from({ length: 2000 }, () => ({ on: 'rcpt', match: '*@never.fuzz.test', reply: { code: 550, text: 'x' } })) } : { read: true, pad: 'x'.repeat(rng.pick([1000, 2_000_000])) })],
  ])();
  const text = JSON.stringify(value) ?? 'null';
  return rng.weighted<() => string>([
    [6, () => text],
    [1, () => `${'['.repeat(rng.int(1000, 20_000))}${']'.repeat(rng.int(0, 20_000))}`],
    [1, () => text.slice(0, rng.int(0, text.length))],
    [1, () => mutateArg(rng, text, 1).toString('utf8')],
    [1, () => rng.pick(['', 'null', '1e99999', '"\\ud800"', '{"read":true,"read":false}', '\uFEFF{"read":true}', 'NaN'])],
  ])();
}

/**
 * What a browser could send: a Host header, a path of visible ASCII without
 * a fragment or backslashes (it strips the one and turns the others into
 * slashes), and in practice a header section well under Node's 16 KiB.
 */
function browserLike(target: string, headerLines: readonly string[]): boolean {
  return /^[\x21-\x7e]*$/.test(target) && !/[#\\]/.test(target) && headerLines.some((line) => line.startsWith('Host: ')) && headerLines.join('\r\n').length + target.length < 12_000;
}

/** A request with a body, well-formed or not, as bytes. */
function request(method: string, target: string, headerLines: string[], body?: { type: string | null; text: string }): Buffer {
  const lines = [`${method} ${target} HTTP/1.1`, ...headerLines];
  if (body) {
    if (body.type !== null) lines.push(`Content-Type: ${body.type}`);
    lines.push(`Content-Length: ${Buffer.byteLength(body.text)}`);
  }
  return bytes(`${lines.join('\r\n')}\r\n\r\n`, body?.text ?? '');
}

/** Requests no browser can send: broken request lines, header syntax, framing, smuggling, oversize. */
function rawRequest(rng: Rng, port: number, ids: readonly string[]): { bytes: Buffer; complete: boolean } {
  const host = `Host: 127.0.0.1:${port}`;
  const id = rng.pick(ids);
  const choices: (() => { bytes: Buffer; complete: boolean })[] = [
    () => ({ bytes: utf8(`GET /api/info HTTP/1.1\r\n${host}\r\nX: ${'a'.repeat(rng.pick([17_000, 70_000]))}\r\n\r\n`), complete: true }),
    () => ({ bytes: utf8(`GET /${'a'.repeat(rng.pick([17_000, 100_000]))} HTTP/1.1\r\n${host}\r\n\r\n`), complete: true }),
    () => ({ bytes: utf8(`GET /api/info HTTP/1.1\r\n${host}\r\n${Array.from({ length: rng.int(100, 3000) }, (_, i) => `H${i}: v`).join('\r\n')}\r\n\r\n`), complete: true }),
    () => ({ bytes: utf8(`${rng.pick(['get', 'GETT', 'G ET', 'PRI', 'BREW', 'M-SEARCH', '', '\0GET', 'CONNECT'])} ${rng.pick(['/', '*', 'http://evil.test/', '127.0.0.1:80', '/api/info'])} HTTP/1.1\r\n${host}\r\n\r\n`), complete: true }),
    () => ({ bytes: utf8('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), complete: true }),
    () => ({ bytes: utf8(`GET /api/info ${rng.pick(['HTTP/0.9', 'HTTP/2', 'HTTP/1.1 x', 'HTTPS/1.1', 'HTTP/9.9', ''])}\r\n${host}\r\n\r\n`), complete: true }),
    () => ({ bytes: utf8(`GET /api/info HTTP/1.1\r\n${host}\r\nX-Bad${rng.pick([' : v', ':\0v', '\tx: v', 'é: v', ': v\rx', ''])}\r\n\r\n`), complete: true }),
    () => ({ bytes: utf8(`GET /api/info HTTP/1.1\r\n${host}\r\nX-Fold: a\r\n  b\r\n\r\n`), complete: true }),
    () => ({ bytes: utf8(`GET /api/info HTTP/1.1\n${host}\n\n`), complete: true }),
    () => ({ bytes: utf8(`GET /api/info HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`), complete: true }),
    () => ({ bytes: utf8(`PATCH /api/messages/${id} HTTP/1.1\r\n${host}\r\nContent-Type: application/json\r\nContent-Length: 13\r\nContent-Length: 14\r\n\r\n{"read":true}`), complete: true }),
    () => ({ bytes: utf8(`PATCH /api/messages/${id} HTTP/1.1\r\n${host}\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/info HTTP/1.1\r\n${host}\r\n\r\n`), complete: true }),
    () => ({ bytes: utf8(`PATCH /api/messages/${id} HTTP/1.1\r\n${host}\r\nContent-Type: application/json\r\nTransfer-Encoding: ${rng.pick(['chunked, identity', 'gzip', 'xchunked', 'chunked'])}\r\n\r\n${rng.pick(['d\r\n{"read":true}\r\n0\r\n\r\n', 'zz\r\n', '-1\r\n\r\n', '5;ext=' + 'x'.repeat(20_000) + '\r\n'])}`), complete: true }),
    () => ({ bytes: utf8(`PATCH /api/messages/${id} HTTP/1.1\r\n${host}\r\nContent-Type: application/json\r\nContent-Length: ${rng.pick(['-1', '1e3', '0x10', '99999999999999999999', ' 13', '13,13'])}\r\n\r\n{"read":true}`), complete: true }),
    () => ({ bytes: utf8(`GET /api/info HTTP/1.1\r\n${host}\r\nExpect: ${rng.pick(['100-continue', 'foo', ''])}\r\n\r\n`), complete: true }),
    () => ({ bytes: utf8(`GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: ${rng.pick(['13', '8', 'x'])}\r\nSec-WebSocket-Key: ${rng.pick(['dGhlIHNhbXBsZSBub25jZQ==', 'x', ''])}\r\n\r\n`), complete: true }),
    () => ({ bytes: utf8(`GET /api/info HTTP/1.1\r\n${host}\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n`), complete: true }),
    () => ({ bytes: Buffer.concat([utf8('GET /api/info HTTP/1.1\r\n'), junk(rng, rng.int(1, 500)), utf8('\r\n\r\n')]), complete: false }),
    () => ({ bytes: junk(rng, rng.int(1, 1000)), complete: false }),
    () => ({ bytes: utf8(`PATCH /api/messages/${id} HTTP/1.1\r\n${host}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"read":`), complete: false }),
    () => ({ bytes: utf8(`GET /api/info HTTP/1.1\r\n${host}\r\nX-Slow: `), complete: false }),
  ];
  return rng.pick(choices)();
}

/** One HTTP case: API requests with hostile paths, queries, headers and JSON bodies, raw malformed requests, pipelines and drops. */
export async function httpCase(env: CaseEnv, targets: HttpTargets): Promise<void> {
  const { rng, target } = env;
  const port = target.ports.http;
  const model = new HttpModel();
  const conn = await FuzzConn.connect(port);
  conn.observe(model);
  const ids = [...targets.seeds, ...targets.scratch];
  const kind = rng.weighted([
    [40, 'api'],
    [15, 'body'],
    [15, 'raw'],
    [10, 'pipelined'],
    [8, 'drop'],
    [5, 'delete'],
    [4, 'options'],
    [5, 'bounds'],
  ] as const);
  env.kind(kind);
  const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  const send = (method: string, target: string, wellFormed: boolean, answerDue: boolean, data: Buffer): void => {
    model.requests.push({ method, path: target, wellFormed, answerDue });
    conn.write(data);
  };
  try {
    switch (kind) {
      case 'api':
      case 'pipelined': {
        const count = kind === 'pipelined' ? rng.int(5, 40) : rng.int(1, 4);
        for (let i = 0; i < count && !model.ended; i++) {
          const { path: target, slow } = path(rng, ids);
          const lines = headers(rng, port);
          const method = rng.weighted([
            [12, 'GET'],
            // Whether a response has a body depends on HEAD, which the server only knows of a request it could parse.
            [browserLike(target, lines) ? 2 : 0, 'HEAD'],
            [1, 'POST'],
            [1, 'PUT'],
            [1, 'PATCH'],
          ] as const);
          if (i === count - 1 && rng.chance(0.5)) lines.push('Connection: close');
          // A browser sends paths of visible ASCII and, in practice, header sections well under Node's 16 KiB.
          send(method, target, browserLike(target, lines), !slow, request(method, target, lines));
          if (slow) break;
          if (kind === 'api') await model.changes.until(() => model.settled() || model.problems.length > 0, env.replyMs);
        }
        break;
      }
      case 'body': {
        const rules = rng.chance(0.4);
        const method = rules ? rng.pick(['PUT', 'PUT', 'PATCH', 'POST']) : rng.pick(['PATCH', 'PATCH', 'PUT', 'POST']);
        const target = rules ? '/api/smtp/rules' : `/api/messages/${rng.pick([...ids, 'AAAAAAAAAAAAAAAA'])}`;
        const type = rng.pick(['application/json', 'application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/vnd.api+json', null]);
        const lines = headers(rng, port);
        send(method, target, browserLike(target, lines), true, request(method, target, lines, { type, text: jsonBody(rng, rules) }));
        break;
      }
      case 'raw': {
        const raw = rawRequest(rng, port, ids);
        model.requests.push({ method: 'RAW', path: show(raw.bytes, 120), wellFormed: false, answerDue: raw.complete, socketIo: raw.bytes.includes('/socket.io/') });
        conn.write(raw.bytes);
        break;
      }
      case 'delete': {
        // Only scratch mail may be deleted: one scratch id, an unknown id, or the scratch query.
        const choice = rng.int(0, 2);
        const target = choice === 0 && targets.scratch.length > 0 ? `/api/messages/${rng.pick(targets.scratch)}` : choice === 1 ? `/api/messages/${encode(rng, mutateArg(rng, 'AAAAAAAAAAAAAAAA', 0.7).toString('latin1')).replace(/^$|^[?#/]/, 'Z')}` : `/api/messages?query=${encodeURIComponent(`to:${SCRATCH}`)}`;
        const lines = headers(rng, port);
        send('DELETE', target, browserLike(target, lines), true, request('DELETE', target, lines));
        env.tally('http deleting requests');
        break;
      }
      case 'bounds': {
        // The documented ranges of numeric parameters (OpenAPI): a value outside, or not a number, is a 400.
        const spec = rng.pick([
          { name: 'limit', route: '/api/messages', integer: true, min: 1, max: 1000 },
          { name: 'offset', route: '/api/messages', integer: true, min: 0, max: Infinity },
          { name: 'timeout', route: '/api/messages/wait', integer: false, min: 0, max: 300 },
          { name: 'count', route: '/api/messages/wait', integer: true, min: 1, max: 1000 },
          { name: 'quiet', route: '/api/messages/wait', integer: false, min: 0.05, max: 300 },
        ]);
        const value = rng.pick([...HOSTILE_NUMBERS, 'Infinity', '-Infinity', '1e309', '-1e309', '300', '301', '0.05', '1000', '1001', '']);
        const n = Number(value);
        const valid = value !== '' && Number.isFinite(n) && (!spec.integer || Number.isInteger(n)) && n >= spec.min && n <= spec.max;
        const wait = spec.route.endsWith('/wait');
        // A valid wait is kept short: after=0 counts the stored mail, the timeout is a fifth of a second.
        const params = [`${spec.name}=${encodeURIComponent(value)}`, ...(wait && spec.name !== 'timeout' ? ['timeout=0.2'] : []), ...(wait ? ['after=0'] : [])];
        const target = `${spec.route}?${params.join('&')}`;
        const answerDue = !valid || !wait || spec.name !== 'timeout' || n <= 1;
        const expect = (status: number): string | null =>
          valid ? (status === 400 ? `${spec.name}=${value} is within the documented range, expected an answer` : null) : status === 400 ? null : `${spec.name}=${value} is outside ${spec.min}..${spec.max}${spec.integer ? ' (integer)' : ''}, expected 400`;
        model.requests.push({ method: 'GET', path: target, wellFormed: true, answerDue, expect });
        conn.write(request('GET', target, [`Host: 127.0.0.1:${port}`]));
        break;
      }
      case 'options': {
        const target = path(rng, ids).path;
        const lines = [...headers(rng, port), 'Access-Control-Request-Method: DELETE', `Access-Control-Request-Headers: ${rng.pick(['content-type', 'x-'.repeat(100), 'authorization'])}`];
        send('OPTIONS', target, browserLike(target, lines), true, request('OPTIONS', target, lines));
        break;
      }
      case 'drop': {
        const { path: target } = path(rng, ids);
        const data = request('GET', target, headers(rng, port));
        send('GET', target, false, false, rng.chance(0.5) ? data.subarray(0, rng.int(0, data.length)) : data);
        await wait(rng.int(0, 20));
        conn.drop();
        break;
      }
    }
    if (!conn.dropped) {
      if (!(await model.changes.until(() => model.settled() || model.problems.length > 0, env.replyMs))) {
        const due = model.requests.filter((r) => r.answerDue);
        env.problem(`${due.length - model.responses.length} of ${due.length} requests got no answer within ${env.replyMs} ms (sent ${conn.transcript()})`);
      }
    }
    for (const problem of model.problems) env.problem(`${problem} (sent ${conn.transcript()})`);
  } finally {
    conn.drop();
  }
}

/** A client that pipelines GETs of the largest message's source and never reads. */
export async function httpPipeliner(port: number, id: string, count: number): Promise<FuzzConn> {
  const conn = await FuzzConn.connect(port);
  conn.neverRead();
  conn.write(`GET /api/messages/${id}/raw HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`.repeat(count));
  return conn;
}

