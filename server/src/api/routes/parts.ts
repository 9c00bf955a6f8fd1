import { create as contentDisposition } from 'content-disposition';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { replaceCidLinks } from '../../mime/cid-links.js';
import { decodeCharset, partBody } from '../../mime/decode.js';
import { MAX_MIME_DEPTH, MAX_MIME_PARTS, type MimePart } from '../../mime/part-index.js';
import { partTree, resolvePart } from '../../mime/part-tree.js';
import type { Store } from '../../store/store.js';
import type { StoredMessage } from '../../store/types.js';
import { badRequest, notFound } from '../errors.js';
import { ErrorBody } from '../schemas.js';
import { safeFilename } from '../safe-filename.js';

export interface PartRoutesDeps {
  store: Store;
}

const PartParams = Type.Object({ id: Type.String({ maxLength: 64 }), partId: Type.String({ maxLength: 64 }) });
const Binary = (description: string) => Type.Unsafe<Buffer>({ type: 'string', format: 'binary', description });

const PartNode = Type.Cyclic(
  {
    PartNode: Type.Object({
      partId: Type.String({ description: 'IMAP section number; TEXT or <n>.TEXT for a multipart container' }),
      contentType: Type.String(),
      charset: Type.Union([Type.String(), Type.Null()]),
      encoding: Type.String(),
      disposition: Type.Union([Type.String(), Type.Null()]),
      filename: Type.Union([Type.String(), Type.Null()]),
      contentId: Type.Union([Type.String(), Type.Null()]),
      size: Type.Integer({ description: 'Encoded body size in bytes' }),
      lines: Type.Integer(),
      headers: Type.Array(Type.Object({ name: Type.String(), value: Type.String() })),
      children: Type.Array(Type.Ref('PartNode')),
    }),
  },
  'PartNode',
);

/**
 * What a browser may do with a part served from our origin: nothing active.
 * The sandbox gives the document an opaque origin, so mail HTML opened from
 * here can never script the inbox.
 */
function lockDown(reply: FastifyReply, sandbox = 'sandbox'): FastifyReply {
  return reply
    .header('content-security-policy', `${sandbox}; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'`)
    .header('x-content-type-options', 'nosniff');
}

/**
 * An HTML part viewed on its own, as the HTML tab shows it: its `cid:` images point at the parts
 * they name, relative to this part's own URL (so a path prefix added by a proxy is kept). Those
 * loads are same-origin only if the document keeps its origin, so the sandbox allows that and
 * nothing more: still no scripts, forms or plugins, so the mail can never script the inbox.
 */
const HTML_VIEW_SANDBOX = 'sandbox allow-same-origin';

export const partRoutes: FastifyPluginAsync<PartRoutesDeps> = async (fastify, { store }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  function partOr404(id: string, partId: string): { message: StoredMessage; raw: Buffer; part: MimePart } {
    const message = store.get(id);
    if (!message) throw notFound(`No message with id ${id}`);
    const part = resolvePart(message.digest.root, partId);
    if (!part) throw notFound(`Message ${id} has no part ${partId}`);
    return { message, raw: message.raw, part };
  }

  app.get(
    '/messages/:id/parts',
    {
      schema: {
        summary: 'The MIME part tree',
        description: `Part ids are IMAP section numbers. The tree stops at ${MAX_MIME_DEPTH} levels of nesting and ${MAX_MIME_PARTS} parts; past either, the rest is body of the last part and \`truncated\` is true.`,
        tags: ['parts'],
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: {
          200: Type.Object({ truncated: Type.Boolean(), root: PartNode }),
          404: ErrorBody,
        },
      },
    },
    async (request) => {
      const message = store.get(request.params.id);
      if (!message) throw notFound(`No message with id ${request.params.id}`);
      return { truncated: message.digest.truncated, root: partTree(message.raw, message.digest.root) as never };
    },
  );

  app.get(
    '/messages/:id/parts/:partId',
    {
      schema: {
        summary: 'A part, decoded: text as UTF-8, anything else as its bytes',
        tags: ['parts'],
        params: PartParams,
        querystring: Type.Object({
          download: Type.Optional(
            Type.Union([Type.Literal('1'), Type.Literal('true'), Type.Literal('0'), Type.Literal('false')], {
              description: '1 or true: serve as an attachment',
            }),
          ),
        }),
        response: { 200: Binary('The decoded content'), 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const { id, partId } = request.params;
      const { message, raw, part } = partOr404(id, partId);
      if (part.type === 'multipart') throw badRequest(`${partId} is a multipart container: fetch its parts, or ${partId}/raw`);
      const body = partBody(raw, part);
      const download = request.query.download === '1' || request.query.download === 'true';
      const fallback = part.type === 'message' ? `part-${partId}.eml` : `part-${partId}`;
      const htmlView = !download && part.type === 'text' && part.subtype === 'html';
      lockDown(reply, htmlView ? HTML_VIEW_SANDBOX : undefined)
        .type(part.type === 'text' ? `text/${part.subtype}; charset=utf-8` : `${part.type}/${part.subtype}`)
        .header('content-disposition', contentDisposition(safeFilename(part.filename, fallback), { type: download ? 'attachment' : 'inline' }));
      if (part.type !== 'text') return reply.send(body);
      const text = decodeCharset(body, part.params.charset);
      return reply.send(Buffer.from(htmlView ? replaceCidLinks(text, message.digest.attachments, (target) => target) : text, 'utf8'));
    },
  );

  app.get(
    '/messages/:id/parts/:partId/raw',
    {
      schema: {
        summary: 'A part as stored: its MIME header and its encoded body',
        tags: ['parts'],
        params: PartParams,
        response: { 200: Binary('The part header and encoded body'), 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const { raw, part } = partOr404(request.params.id, request.params.partId);
      return lockDown(reply).type('text/plain').send(raw.subarray(part.headerStart, part.bodyEnd));
    },
  );
};
