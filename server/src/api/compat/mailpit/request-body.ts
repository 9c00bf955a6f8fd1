import type { FastifyInstance } from 'fastify';

/** Mailpit caps every request body at 5 MB (http.MaxBytesReader in its middleware). */
export const MAX_BODY_BYTES = 5 * 1024 * 1024;

/** A body as the handler gets it: bytes, or the fact that it passed the cap. */
export type RawBody = { bytes: Buffer; tooLarge: false } | { bytes: null; tooLarge: true };

/** Go's error for a body past http.MaxBytesReader's cap. */
export const BODY_TOO_LARGE = 'http: request body too large';

const EMPTY: RawBody = { bytes: Buffer.alloc(0), tooLarge: false };

/** The body of a request, as the handler sees it whether or not one was sent. */
export const bodyOf = (body: unknown): RawBody => (body as RawBody | undefined) ?? EMPTY;

/**
 * Bodies for the Mailpit routes, whatever their Content-Type: Mailpit decodes JSON from any body,
 * so these routes never answer Fastify's 415, and a body past the cap reaches the handler marked
 * too large, because what follows differs by route (DELETE /messages then deletes everything).
 * Applies to the plugin it is called in only. Fastify's requestTimeout bounds how long a client
 * can keep sending. `maxBytes` is Mailpit's 5 MB but for send, which takes messages up to the
 * message size limit.
 */
export function acceptAnyBody(app: FastifyInstance, maxBytes = MAX_BODY_BYTES): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (body: RawBody | null, error?: Error): void => {
      if (settled) return;
      settled = true;
      if (error) done(error);
      else done(null, body);
    };
    payload.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the cap the rest is read and dropped, so the answer comes after the whole request, as a client expects.
      if (size > maxBytes) chunks.length = 0;
      else chunks.push(chunk);
    });
    payload.on('end', () => settle(size > maxBytes ? { bytes: null, tooLarge: true } : { bytes: Buffer.concat(chunks), tooLarge: false }));
    payload.on('error', (error: Error) => settle(null, error));
  });
}
