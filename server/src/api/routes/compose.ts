import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import addressparser from 'nodemailer/lib/addressparser';
import { Type, type Static } from 'typebox';
import type { Store } from '../../store/store.js';
import { checkTags, TagList } from './tags.js';
import { ComposeError, composedBodyLimit, composeMessage, forbiddenHeader, MessageTooLarge, storeComposed, type ComposedAddress } from '../compose.js';
import { badRequest, HttpError } from '../errors.js';
import { ErrorBody, SummarySchema } from '../schemas.js';
import { toSummary } from '../serialize.js';

export interface ComposeRoutesDeps {
  store: Store;
  maxMessageSize: number;
}

const Address = Type.Union([
  Type.String({ maxLength: 998, description: 'an address, or "Name <address>"' }),
  Type.Object({ address: Type.String({ maxLength: 320 }), name: Type.Optional(Type.String({ maxLength: 998 })) }, { additionalProperties: false }),
]);
const Addresses = Type.Array(Address, { maxItems: 1000 });

const ComposeBody = Type.Object(
  {
    from: Address,
    to: Type.Optional(Addresses),
    cc: Type.Optional(Addresses),
    bcc: Type.Optional(Type.Array(Type.String({ maxLength: 320 }), { maxItems: 1000, description: 'Envelope recipients not in any header' })),
    replyTo: Type.Optional(Addresses),
    subject: Type.String({ maxLength: 998 }),
    text: Type.Optional(Type.String()),
    html: Type.Optional(Type.String()),
    headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'More header fields; not those the fields above write' })),
    tags: Type.Optional(TagList),
    attachments: Type.Optional(
      Type.Array(
        Type.Object(
          {
            filename: Type.String({ maxLength: 255 }),
            content: Type.String({ description: 'base64' }),
            contentType: Type.Optional(Type.String({ maxLength: 255 })),
            contentId: Type.Optional(Type.String({ maxLength: 255, description: 'Makes it an inline part the HTML can show as cid:' })),
          },
          { additionalProperties: false },
        ),
        { maxItems: 1000 },
      ),
    ),
  },
  { additionalProperties: false },
);

/** Strict base64 (RFC 4648 §4, line breaks allowed), since Buffer.from would skip what is not. */
const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}$/;

function address(input: Static<typeof Address>, field: string): ComposedAddress {
  if (typeof input !== 'string') return input.name === undefined ? { address: input.address } : input;
  const [first, ...rest] = addressparser(input, { flatten: true });
  if (!first?.address || rest.length > 0) throw badRequest(`${field}: expected one address, got ${JSON.stringify(input)}`);
  return first.name === '' ? { address: first.address } : { name: first.name, address: first.address };
}

/** Mailroom's own way to put a message in the store without an SMTP client, as a test fixture would. */
export const composeRoutes: FastifyPluginAsync<ComposeRoutesDeps> = async (fastify, { store, maxMessageSize }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/messages',
    {
      bodyLimit: composedBodyLimit(maxMessageSize),
      schema: {
        summary: 'Store a message built from these fields, as if it had arrived over SMTP',
        tags: ['messages'],
        body: ComposeBody,
        response: { 201: SummarySchema, 400: ErrorBody, 413: ErrorBody },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const headers = body.headers ?? {};
      const forbidden = forbiddenHeader(headers);
      if (forbidden !== null) throw badRequest(`headers: ${forbidden} is set by its own field`);
      const tags = body.tags ?? [];
      checkTags(tags);
      const attachments = (body.attachments ?? []).map((a, i) => {
        if (!BASE64.test(a.content)) throw badRequest(`attachments/${i}/content: expected base64`);
        return { filename: a.filename, content: Buffer.from(a.content, 'base64'), contentType: a.contentType, contentId: a.contentId };
      });
      let composed;
      try {
        composed = await composeMessage({
          from: address(body.from, 'from'),
          to: (body.to ?? []).map((a) => address(a, 'to')),
          cc: (body.cc ?? []).map((a) => address(a, 'cc')),
          bcc: body.bcc ?? [],
          replyTo: (body.replyTo ?? []).map((a) => address(a, 'replyTo')),
          subject: body.subject,
          text: body.text,
          html: body.html,
          attachments,
          headers,
        });
      } catch (error) {
        if (error instanceof ComposeError) throw badRequest(error.message);
        throw error;
      }
      try {
        return reply.code(201).send(toSummary(await storeComposed(store, composed, request.ip, maxMessageSize, tags)));
      } catch (error) {
        if (error instanceof MessageTooLarge) throw new HttpError(413, 'payload_too_large', error.message);
        throw error;
      }
    },
  );
};
