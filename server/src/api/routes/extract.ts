import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { CODE_SCAN_CHARS, codeText, findCodes, MAX_PATTERN_LENGTH, PATTERN_TIMEOUT_MS, PatternError } from '../../mime/codes.js';
import { extractLinks } from '../../mime/links.js';
import { PatternQueueFullError, PatternRunner } from '../../mime/pattern-runner.js';
import type { Store } from '../../store/store.js';
import type { StoredMessage } from '../../store/types.js';
import { badRequest, HttpError, notFound } from '../errors.js';
import { ErrorBody, IdParams } from '../schemas.js';

export interface ExtractRoutesDeps {
  store: Store;
}

const LinkSchema = Type.Object({
  url: Type.String({ description: 'As written, HTML entities and transfer encoding undone' }),
  text: Type.Union([Type.String(), Type.Null()], {
    description: "HTML: the anchor's visible text (an image's alt standing in for it), white space collapsed; text parts: null",
  }),
  part: Type.String({ description: 'IMAP section number of the body part' }),
  type: Type.Union([Type.Literal('html'), Type.Literal('text')]),
});

export const extractRoutes: FastifyPluginAsync<ExtractRoutesDeps> = async (fastify, { store }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const patterns = new PatternRunner();
  fastify.addHook('onClose', () => patterns.close());

  function messageOr404(id: string): StoredMessage {
    const message = store.get(id);
    if (!message) throw notFound(`No message with id ${id}`);
    return message;
  }

  app.get(
    '/messages/:id/links',
    {
      schema: {
        summary: 'Every link in the text and HTML bodies, in document order',
        description:
          'HTML: href of every <a> and <area>; text: http(s) and mailto URLs, bare or in <angle brackets>. Body parts in MIME order, ' +
          'links in document order within each, duplicates kept. Forwarded messages (message/rfc822 parts) are not read.',
        tags: ['messages'],
        params: IdParams,
        response: { 200: Type.Object({ links: Type.Array(LinkSchema) }), 404: ErrorBody },
      },
    },
    async (request) => {
      const message = messageOr404(request.params.id);
      return { links: extractLinks(message.raw, message.digest.root) };
    },
  );

  app.get(
    '/messages/:id/codes',
    {
      schema: {
        summary: 'One-time codes in the body',
        description:
          'Searches the text/plain body (else the visible text of the HTML body), its first ' +
          `${CODE_SCAN_CHARS} characters. By default: runs of 4 to 8 digits standing alone, not part of a longer number, ` +
          'date, time, phone number or URL. With `pattern`: every match of that regular expression, or its first capture group ' +
          'when it has one. Patterns are written as in JavaScript (no flags) and run on RE2, in time linear in the text: ' +
          `lookaround and backreferences are refused with 400, as is a pattern still running after ${PATTERN_TIMEOUT_MS} ms.`,
        tags: ['messages'],
        params: IdParams,
        querystring: Type.Object({
          pattern: Type.Optional(
            Type.String({
              maxLength: MAX_PATTERN_LENGTH,
              description: 'A regular expression in JavaScript syntax without flags, run on RE2: no lookaround or backreferences',
            }),
          ),
        }),
        response: { 200: Type.Object({ codes: Type.Array(Type.String()) }), 400: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      const message = messageOr404(request.params.id);
      const text = codeText(message.raw, message.digest.root);
      const { pattern } = request.query;
      try {
        return { codes: pattern === undefined || pattern === '' ? findCodes(text) : await patterns.find(text, pattern) };
      } catch (error) {
        if (error instanceof PatternError) throw badRequest(error.message);
        if (error instanceof PatternQueueFullError) throw new HttpError(503, 'unavailable', error.message);
        throw error;
      }
    },
  );
};
