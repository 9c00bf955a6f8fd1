import { create as contentDisposition } from 'content-disposition';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { partBody } from '../../mime/decode.js';
import { findPart } from '../../mime/find-part.js';
import type { BodyTexts } from '../../search/body-texts.js';
import type { Store } from '../../store/store.js';
import type { StoredMessage } from '../../store/types.js';
import { requiredRecipient } from '../../search/query.js';
import { filterOf } from '../query-filter.js';
import { badRequest, HttpError, notFound } from '../errors.js';
import { safeFilename } from '../safe-filename.js';
import { textCharset } from '../text-charset.js';
import type { MessageViews } from '../message-view.js';
import { DeletedSchema, DetailSchema, ErrorBody, IdParams, PageSchema, QueryString, SummarySchema } from '../schemas.js';
import { toSummary } from '../serialize.js';
import { checkTags, TagList } from './tags.js';
import type { Waiters } from '../waiters.js';

export interface MessageRoutesDeps {
  store: Store;
  texts: BodyTexts;
  views: MessageViews;
  waiters: Waiters;
}


function messageOr404(store: Store, id: string): StoredMessage {
  const message = store.get(id);
  if (!message) throw notFound(`No message with id ${id}`);
  return message;
}

const Binary = (description: string) => Type.Unsafe<Buffer>({ type: 'string', format: 'binary', description });

const errors = { 400: ErrorBody, 404: ErrorBody };

/** Arrivals listed with a timed-out wait: enough to see what the app sent instead. */
const ARRIVED_SHOWN = 10;

const TimeoutBody = Type.Object({ error: Type.String(), message: Type.String(), arrived: Type.Array(SummarySchema) });

export const messageRoutes: FastifyPluginAsync<MessageRoutesDeps> = async (fastify, { store, texts, views, waiters }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/messages',
    {
      schema: {
        summary: 'List messages, newest first',
        tags: ['messages'],
        querystring: Type.Object({
          query: Type.Optional(QueryString),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }),
          offset: Type.Integer({ minimum: 0, default: 0 }),
        }),
        response: { 200: PageSchema, 400: ErrorBody },
      },
    },
    async (request) => {
      const { query, limit, offset } = request.query;
      const page = store.page(filterOf(query, texts), offset, limit);
      return { total: page.total, unread: page.unread, messages: page.messages.map(toSummary) };
    },
  );

  app.get(
    '/messages/wait',
    {
      schema: {
        summary: 'Wait for messages matching a query',
        description: [
          'Long poll over a cursor. `after=<id>` counts only messages received after that one; `after=0` counts every stored message;',
          'without it only messages arriving after the call count. Without `count` or `quiet` the answer is the first match;',
          'with `count=N` it is `{ messages }` holding the first N matches, oldest first; with `quiet=S` it is `{ messages }` holding',
          'every match (summaries), sent once S seconds pass with no new match, so an empty list shows nothing was sent.',
          'On timeout: 408 with `arrived`, the newest messages received in the window whatever their match.',
        ].join(' '),
        tags: ['messages'],
        querystring: Type.Object({
          query: Type.Optional(QueryString),
          timeout: Type.Number({ minimum: 0, maximum: 300, default: 30, description: 'Seconds' }),
          after: Type.Optional(Type.String({ maxLength: 64, description: 'Cursor: a message id, or 0 for the start of the store' })),
          since: Type.Optional(Type.String({ maxLength: 64, description: 'Older name of `after`' })),
          count: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Wait for this many matches' })),
          quiet: Type.Optional(Type.Number({ minimum: 0.05, maximum: 300, description: 'Seconds without a new match before answering' })),
        }),
        response: {
          200: Type.Union([DetailSchema, Type.Object({ messages: Type.Array(Type.Union([DetailSchema, SummarySchema])) })]),
          400: ErrorBody,
          404: ErrorBody,
          408: TimeoutBody,
          503: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const { query, timeout, count, quiet } = request.query;
      if (count !== undefined && quiet !== undefined) throw badRequest('count and quiet do not go together');
      const filter = filterOf(query, texts);
      const cursor = request.query.after ?? request.query.since;
      let afterUid = store.uidNext - 1;
      if (cursor === '0') afterUid = 0;
      else if (cursor !== undefined) {
        const message = store.get(cursor);
        if (!message) throw notFound(`after: no message with id ${cursor}`);
        afterUid = message.uid;
      }
      const abort = new AbortController();
      const onClose = (): void => abort.abort();
      reply.raw.on('close', onClose);
      const result = await waiters.wait({
        filter,
        recipient: requiredRecipient(query),
        afterUid,
        count: count ?? 1,
        quietMs: quiet === undefined ? null : quiet * 1000,
        timeoutMs: timeout * 1000,
        signal: abort.signal,
      });
      // Settled: the client leaving now aborts nothing.
      reply.raw.off('close', onClose);
      if (result.kind === 'closed') throw new HttpError(503, 'unavailable', 'Mailroom is shutting down');
      if (result.kind === 'timeout') {
        const arrived = store.since(afterUid, null).slice(-ARRIVED_SHOWN).reverse().map(toSummary);
        const what = count === undefined ? 'No matching message' : `Fewer than ${count} matching messages`;
        return reply.status(408).send({ error: 'timeout', message: `${what} arrived within ${timeout} s; ${arrived.length === 0 ? 'nothing arrived' : `newest arrivals in "arrived"`}`, arrived });
      }
      // Plain JSON.stringify: the schema's serializer would try each branch of the union with ajv on every reply.
      reply.serializer(JSON.stringify).type('application/json; charset=utf-8');
      if (quiet !== undefined) return { messages: result.messages.map(toSummary) };
      if (count !== undefined) return { messages: await Promise.all(result.messages.map((m) => views.detail(m))) };
      return views.detail(result.messages[0]!);
    },
  );

  app.get(
    '/messages/:id',
    {
      schema: {
        summary: 'One message: summary, headers, text, HTML, attachments, SMTP details',
        tags: ['messages'],
        params: IdParams,
        response: { 200: DetailSchema, ...errors },
      },
    },
    async (request, reply) => {
      const detail = await views.detail(messageOr404(store, request.params.id));
      // Plain JSON.stringify: over thousands of attachments the schema's serializer is several times slower, all of it blocking.
      reply.serializer(JSON.stringify).type('application/json; charset=utf-8');
      return detail;
    },
  );

  app.get(
    '/messages/:id/raw',
    {
      schema: {
        summary: 'The exact bytes received',
        tags: ['messages'],
        params: IdParams,
        produces: ['message/rfc822'],
        response: { 200: Binary('message/rfc822'), ...errors },
      },
    },
    async (request, reply) => {
      const message = messageOr404(store, request.params.id);
      return reply.type('message/rfc822').send(message.raw);
    },
  );

  app.get(
    '/messages/:id/attachments/:partId',
    {
      schema: {
        summary: 'An attachment, decoded',
        tags: ['messages'],
        params: Type.Object({ id: Type.String({ maxLength: 64 }), partId: Type.String({ maxLength: 64 }) }),
        response: { 200: Binary('The decoded content, with its own content type'), ...errors },
      },
    },
    async (request, reply) => {
      const message = messageOr404(store, request.params.id);
      const { partId } = request.params;
      const attachment = message.digest.attachments.find((a) => a.partId === partId);
      const part = attachment ? findPart(message.digest.root, partId) : null;
      if (!attachment || !part) throw notFound(`Message ${message.id} has no attachment ${partId}`);
      const body = partBody(message.raw, part);
      // The file as it was sent, bytes unchanged, so text needs its charset said for a browser to show it right.
      const type = part.type === 'text' ? `${attachment.contentType}; charset=${textCharset(body, part.params.charset)}` : attachment.contentType;
      return reply
        .type(type)
        .header('content-disposition', contentDisposition(safeFilename(attachment.filename, `part-${partId}`)))
        .header('x-content-type-options', 'nosniff')
        .send(body);
    },
  );

  app.patch(
    '/messages/:id',
    {
      schema: {
        summary: 'Mark a message read or unread, or replace its tags',
        tags: ['messages'],
        params: IdParams,
        body: Type.Object(
          {
            read: Type.Optional(Type.Boolean()),
            tags: Type.Optional(TagList),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: SummarySchema, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { read, tags } = request.body;
      if (tags !== undefined) checkTags(tags);
      messageOr404(store, id);
      if (read !== undefined) await store.setRead(id, read);
      if (tags !== undefined) await store.setTags(id, tags);
      return toSummary(messageOr404(store, id));
    },
  );

  app.delete(
    '/messages/:id',
    {
      schema: {
        summary: 'Delete one message',
        tags: ['messages'],
        params: IdParams,
        response: { 200: DeletedSchema, ...errors },
      },
    },
    async (request) => {
      const deleted = await store.delete([request.params.id]);
      if (deleted.length === 0) throw notFound(`No message with id ${request.params.id}`);
      return { deleted: 1 };
    },
  );

  app.delete(
    '/messages',
    {
      schema: {
        summary: 'Delete all messages, or those matching a query',
        tags: ['messages'],
        querystring: Type.Object({ query: Type.Optional(QueryString) }),
        response: { 200: DeletedSchema, 400: ErrorBody },
      },
    },
    async (request) => {
      const filter = filterOf(request.query.query, texts);
      if (filter === null) {
        const deleted = store.size;
        await store.clear();
        return { deleted };
      }
      const ids = store.page(filter, 0, Number.MAX_SAFE_INTEGER).messages.map((m) => m.id);
      return { deleted: (await store.delete(ids)).length };
    },
  );
};
