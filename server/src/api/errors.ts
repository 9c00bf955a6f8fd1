import type { FastifyError, FastifyInstance } from 'fastify';
import { StoreWriteError } from '../store/store.js';

/** An API failure with its HTTP status and a stable machine-readable code. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (message: string): HttpError => new HttpError(404, 'not_found', message);
export const badRequest = (message: string): HttpError => new HttpError(400, 'bad_request', message);

const CODES: Record<number, string> = {
  400: 'bad_request',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'timeout',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  503: 'unavailable',
};

/** Every error leaves as `{ error, message }`; only a bug in Mailroom answers 500. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) {
      return reply.status(error.statusCode).send({ error: error.code, message: error.message });
    }
    if (error instanceof StoreWriteError) {
      request.log.error({ err: error.cause }, 'a change could not be written to the data directory');
      // 507 (RFC 4918 §11.5) when the disk is full: the client may try again once there is room.
      return error.full
        ? reply.status(507).send({ error: 'insufficient_storage', message: 'The data directory is full; nothing was changed' })
        : reply.status(500).send({ error: 'storage_error', message: 'The change could not be written to the data directory; see the server log' });
    }
    if ('validation' in error && error.validation) {
      return reply.status(400).send({ error: 'bad_request', message: error.message });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.status(status).send({ error: CODES[status] ?? 'bad_request', message: error.message });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.status(500).send({ error: 'internal', message: 'Internal error; see the server log' });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: 'not_found', message: `No route for ${request.method} ${request.url.split('?')[0]}` });
  });
}
