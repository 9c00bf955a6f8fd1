import type { FastifyReply } from 'fastify';
import { goJson } from '../go-json.js';

/**
 * Mailpit's answers, byte for byte (server/apiv1/api.go): JSON from json.Encoder, so with a
 * trailing newline and `application/json` without a charset; `ok` and errors as text/plain
 * without one; its own 404 text, which is not Go's mux's.
 *
 * Bodies go out as Buffers: Fastify adds `; charset=utf-8` to a JSON or text string it sends.
 */

export function sendJson(reply: FastifyReply, value: unknown): FastifyReply {
  return sendRawJson(reply, goJson(value, { newline: true }));
}

/** JSON already written as Go writes it (newline included). */
export function sendRawJson(reply: FastifyReply, json: string): FastifyReply {
  return reply.code(200).type('application/json').send(Buffer.from(json, 'utf8'));
}

export function sendText(reply: FastifyReply, status: number, text: string, type = 'text/plain'): FastifyReply {
  return reply.code(status).type(type).send(Buffer.from(text, 'utf8'));
}

export const sendOk = (reply: FastifyReply): FastifyReply => sendText(reply, 200, 'ok');

/** httpError: 400 with the bare message. */
export const sendError = (reply: FastifyReply, message: string): FastifyReply => sendText(reply, 400, message);

/** fourOFour: an unknown message or part. */
export const sendNotFound = (reply: FastifyReply): FastifyReply => sendText(reply, 404, '404 page not found');

/**
 * `latest` with nothing to resolve to, and the /view pages' unknown id: Mailpit writes these
 * without a Content-Type, so Go sniffs one from the text.
 */
export const sendMessageNotFound = (reply: FastifyReply, text = 'Message not found'): FastifyReply =>
  sendText(reply, 404, text, 'text/plain; charset=utf-8');
