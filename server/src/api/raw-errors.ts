import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { SECURITY_HEADERS } from './security-headers.js';

/** What Node's HTTP parser reports, as the API's `{ error, message }` with its status. */
function parserFailure(error: NodeJS.ErrnoException): { status: number; reason: string; error: string; message: string } {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, reason: 'Request Timeout', error: 'timeout', message: 'The request did not arrive in time' };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, reason: 'Request Header Fields Too Large', error: 'headers_too_large', message: 'The request header is too large' };
    default:
      return { status: 400, reason: 'Bad Request', error: 'bad_request', message: 'Malformed HTTP request' };
  }
}

function rawResponse(status: number, reason: string, body: object): string {
  const json = JSON.stringify(body);
  const headers = Object.entries({ ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json), connection: 'close' })
    .map(([name, value]) => `${name}: ${String(value)}\r\n`)
    .join('');
  return `HTTP/1.1 ${status} ${reason}\r\n${headers}\r\n${json}`;
}

/** Sockets whose error answer is written or waits for the answer before it. */
const answering = new WeakSet<Socket>();

/**
 * Fastify's clientErrorHandler: a request Node's parser refuses (malformed,
 * headers too large, too slow) gets the API's JSON error and headers like
 * every other answer. A response already being written for an earlier
 * pipelined request goes out first.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // Node reports the error again for every chunk the client sends after it; one answer is enough,
  // and one more pair of listeners per chunk would let a client pile them up without end.
  if (error.code === 'ECONNRESET' || socket.destroyed || answering.has(socket)) return;
  answering.add(socket);
  const failure = parserFailure(error);
  const answer = (): void => {
    if (socket.writable) socket.write(rawResponse(failure.status, failure.reason, { error: failure.error, message: failure.message }));
    socket.destroy();
  };
  // As Node itself does: an answer already being written is finished first; one not begun
  // (most often the answer to this very request, whose body failed) gives way to the error.
  const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (current && current.headersSent && !current.writableFinished) current.once('finish', answer).once('close', answer);
  else answer();
}

/**
 * A request asking to switch to anything but a WebSocket (`curl --http2` asks for `h2c`):
 * RFC 9110 §7.8 lets a server ignore Upgrade, so it is answered as the plain HTTP/1.1 request it
 * also is. Node hands every Upgrade request to the 'upgrade' listeners once there are any, with
 * the socket taken from its parser, so the answer closes the connection. A request with a body
 * cannot be read any more and is refused.
 */
export function answerWithoutUpgrade(server: Server, request: IncomingMessage, socket: Socket): void {
  const hasBody = request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined;
  if (hasBody) {
    socket.end(rawResponse(400, 'Bad Request', { error: 'bad_request', message: `Upgrade to ${request.headers.upgrade ?? ''} is not supported on a request with a body` }));
    return;
  }
  const response = new ServerResponse(request);
  response.shouldKeepAlive = false;
  response.assignSocket(socket);
  response.once('finish', () => {
    response.detachSocket(socket);
    socket.end();
  });
  server.emit('request', request, response);
}

/**
 * Headers on every answer, whoever writes it: socket.io's engine and
 * Fastify's router errors answer before any hook runs. Set first, so that a
 * route's own headers still win. And an `Expect:` Node does not know gets the
 * API's JSON 417 rather than Node's empty one.
 */
export function secureEveryResponse(server: Server): void {
  server.prependListener('request', (_request: IncomingMessage, response: ServerResponse) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value as string);
  });
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const body = JSON.stringify({ error: 'expectation_failed', message: `Expect: ${request.headers.expect ?? ''} is not supported` });
    response.writeHead(417, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  });
}
