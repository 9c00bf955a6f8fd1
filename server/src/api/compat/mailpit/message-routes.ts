import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { partBody } from '../../../mime/decode.js';
import type { StoredMessage } from '../../../store/types.js';
import type { MailpitContext } from './context.js';
import { goHeaderJson } from './go-header.js';
import { detailOf } from './message-json.js';
import { queryGet, type Query } from '../go-values.js';
import { LENIENT } from './params.js';
import { enmimeBodies, findEnmimePart } from './parts.js';
import { sendError, sendJson, sendMessageNotFound, sendNotFound, sendRawJson, sendText } from './replies.js';
import { BUSY, sendThumbnail, Thumbnails } from './thumb.js';

export interface MessageRoutesDeps {
  context: MailpitContext;
}

const IdParams = Type.Object({ id: Type.String({ description: 'A message id, or `latest` for the newest message (the newest match with `?query=`)' }) });
const PartParams = Type.Object({ ...IdParams.properties, partId: Type.String({ description: "enmime's part id: IMAP's section number for any part Mailpit lists" }) });
const LatestQuery = Type.Object({ query: Type.Optional(Type.String()), tz: Type.Optional(Type.String()) });

/**
 * Go's url.PathEscape, which Mailpit applies to the file name it puts in Content-Disposition:
 * everything but letters, digits and `-_.~$&+:=@` is %-escaped, so the header holds no quote,
 * space or line break.
 */
function goPathEscape(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~$&+:=@]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Parts are served from Mailroom's origin: whatever they hold, a browser must not run it there. */
const PART_POLICY = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'";

export const messageRoutes: FastifyPluginAsync<MessageRoutesDeps> = async (app, { context }) => {
  const { store } = context;

  /**
   * The message of the path, or the answer already sent: `latest` with nothing to name gives
   * Mailpit's sniffed `Message not found`, an unknown id its plain 404.
   */
  function messageOf(id: string, query: Query, reply: FastifyReply): StoredMessage | null {
    const message = context.resolve(id, query);
    if (message === 'none') sendMessageNotFound(reply);
    else if (message === undefined) sendNotFound(reply);
    else return message;
    return null;
  }

  app.get(
    '/api/v1/message/:id',
    { ...LENIENT, schema: { tags: ['mailpit'], summary: 'One message in full; marks it read (Mailpit)', params: IdParams, querystring: LatestQuery } },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const message = messageOf(id, request.query as Query, reply);
      if (message === null) return reply;
      const detail = await detailOf(message, context.facts.of(message));
      await store.setRead(message.id, true);
      return sendJson(reply, detail);
    },
  );

  app.get(
    '/api/v1/message/:id/headers',
    { ...LENIENT, schema: { tags: ['mailpit'], summary: 'The header fields, by canonical name (Mailpit)', params: IdParams, querystring: LatestQuery } },
    async (request, reply) => {
      const message = messageOf((request.params as { id: string }).id, request.query as Query, reply);
      if (message === null) return reply;
      const header = goHeaderJson(message.raw);
      return header.ok ? sendRawJson(reply, header.json) : sendError(reply, header.error);
    },
  );

  app.get(
    '/api/v1/message/:id/raw',
    {
      ...LENIENT,
      schema: {
        tags: ['mailpit'],
        summary: 'The message as received (Mailpit)',
        params: IdParams,
        querystring: Type.Object({ ...LatestQuery.properties, dl: Type.Optional(Type.String({ description: '1: as a download' })) }),
      },
    },
    async (request, reply) => {
      const query = request.query as Query;
      const message = messageOf((request.params as { id: string }).id, query, reply);
      if (message === null) return reply;
      if (queryGet(query, 'dl') === '1') reply.header('content-disposition', `attachment; filename="${message.id}.eml"`);
      return reply.code(200).type('text/plain; charset=utf-8').send(message.raw);
    },
  );

  app.get(
    '/api/v1/message/:id/part/:partId',
    { ...LENIENT, schema: { tags: ['mailpit'], summary: 'An attachment or inline part, decoded (Mailpit)', params: PartParams, querystring: LatestQuery } },
    async (request, reply) => {
      const { id, partId } = request.params as { id: string; partId: string };
      const message = messageOf(id, request.query as Query, reply);
      if (message === null) return reply;
      const part = findEnmimePart(context.facts.of(message).view, partId);
      if (part === null) return sendNotFound(reply);
      return reply
        .code(200)
        .type(part.contentType)
        .header('content-disposition', `inline; filename="${goPathEscape(part.fileName === '' ? part.contentId : part.fileName)}"`)
        .header('content-security-policy', PART_POLICY)
        .send(partBody(message.raw, part.part));
    },
  );

  const thumbnails = new Thumbnails(store);
  app.addHook('onClose', async () => thumbnails.close());

  app.get(
    '/api/v1/message/:id/part/:partId/thumb',
    {
      schema: {
        tags: ['mailpit'],
        summary: 'A 180×120 JPEG thumbnail of an image attachment (Mailpit)',
        description:
          'Cropped to fill 180×120, or padded with white when smaller; a blank white JPEG for a part that is not image/* or does not decode (JPEG, PNG, GIF, WebP, TIFF; over 20 megapixels counts as not decoding). ' +
          'As in Mailpit, `latest` is not accepted here, and an unknown id or part answers 400. 503 when too many thumbnails are already being made.',
        params: PartParams,
      },
    },
    async (request, reply) => {
      const { id, partId } = request.params as { id: string; partId: string };
      const message = store.get(id);
      // Mailpit reports the failed lookups of storage.GetAttachmentPart as they are, with 400.
      if (message === undefined) return sendError(reply, 'sql: no rows in result set');
      const part = findEnmimePart(context.facts.of(message).view, partId);
      if (part === null) return sendError(reply, 'attachment not found');
      const jpeg = await thumbnails.of(message, part, request.log);
      if (jpeg === BUSY) return sendText(reply.header('retry-after', '1'), 503, 'too many thumbnails are being made; try again shortly');
      return sendThumbnail(reply, part, jpeg);
    },
  );

  app.get(
    '/api/v1/message/:id/html-check',
    {
      ...LENIENT,
      schema: {
        tags: ['mailpit'],
        summary: "Mailpit's HTML compatibility check; not available in Mailroom",
        description: 'Unknown ids answer 404 and a message without HTML 400, as in Mailpit; any other message 400, since Mailroom has no HTML check.',
        params: IdParams,
        querystring: LatestQuery,
      },
    },
    async (request, reply) => {
      const message = context.resolve((request.params as { id: string }).id, request.query as Query);
      if (message === 'none' || message === undefined) return sendNotFound(reply);
      const { html } = enmimeBodies(message.raw, context.facts.of(message).view);
      return sendError(reply, html === '' ? 'message does not contain HTML' : 'HTML check is not available in Mailroom');
    },
  );

  app.get(
    '/api/v1/message/:id/link-check',
    {
      schema: {
        tags: ['mailpit'],
        summary: "Mailpit's link check; not available in Mailroom",
        description: 'Answers 400 before looking at the message, as Mailpit does where link checking is switched off.',
        params: IdParams,
      },
    },
    async (_request, reply) => sendText(reply, 400, 'link check is not available in Mailroom'),
  );
};
