import { Readable } from 'node:stream';
import type { FastifyError, FastifyPluginAsync, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { Compat } from '../../../config.js';
import type { Store } from '../../../store/store.js';
import type { SmtpRuleSet } from '../../../smtp/reject-rules.js';
import type { StoredMessage } from '../../../store/types.js';
import { EventStream } from './events.js';
import { jimRoutes } from './jim.js';
import { mailhogMessage } from './message.js';
import { MESSAGE_JSON_BYTES, MessageJson, type Json } from './message-json.js';
import { queryGet, type Query } from '../go-values.js';
import { pageWindow, startLimit } from './paging.js';
import { partBody, partHeaders, partIndex } from './part-download.js';
import { decodeReleaseConfig, refusal, relay } from './release.js';
import { isSearchKind, MailhogSearch, SEARCH_TEXT_BYTES } from './search.js';
import { webSocketRoutes } from './websocket.js';

export interface MailhogRoutesDeps {
  store: Store;
  /** GET and DELETE /api/v1/messages are MailHog's only with --compat mailhog; Mailpit has the same path. */
  compat: Compat;
  /** The SMTP sink's rules, which Jim's behaviours join while he is on. */
  rules: SmtpRuleSet;
}

/** GET /api/v1/messages returns at most this many, newest first, as MailHog's does. */
export const V1_LIST_MAX = 1000;

/** A release body is a few hundred bytes of JSON. */
export const RELEASE_BODY_LIMIT = 64 * 1024;

/** MailHog's Content-Types: text/json for v1 and the v2 list, application/json for v2 search. */
const TEXT_JSON = 'text/json';
const APPLICATION_JSON = 'application/json';

/**
 * The JSON goes out as a Buffer, or a stream of pieces when it is large: a
 * Buffer or stream payload keeps the Content-Type as set, where a string
 * would get `; charset=utf-8` added.
 */
function sendJson(reply: FastifyReply, type: string, json: Json): FastifyReply {
  return reply.type(type).send(Buffer.isBuffer(json) ? json : Readable.from(json, { objectMode: false }));
}

/** MailHog's messagesResult: `{"total","count","start","items"}`. */
function resultJson(json: MessageJson, total: number, start: bigint, messages: readonly StoredMessage[]): Json {
  return json.list(`{"total":${total},"count":${messages.length},"start":${start},"items":[`, messages, ']}');
}

/**
 * MailHog's HTTP API (MailHog-Server v1.0.1, in-memory storage), answered as
 * MailHog answers it: the same paths, Content-Types, status codes and empty
 * bodies, and JSON as Go writes it, so MailHog's clients and test helpers
 * work unchanged. docs/compat-reference.md §3 describes the original; where
 * MailHog crashes (a nil message on download or release, a part index out of
 * range), the answer here is 404 with an empty body instead of a dropped
 * connection.
 */
export const mailhogRoutes: FastifyPluginAsync<MailhogRoutesDeps> = async (app, { store, compat, rules }) => {
  const events = new EventStream(store, app.log);
  app.addHook('preClose', async () => events.close());
  const json = new MessageJson(store, MESSAGE_JSON_BYTES);
  const search = new MailhogSearch(store, SEARCH_TEXT_BYTES);
  app.addHook('onClose', async () => {
    json.close();
    search.close();
  });
  await app.register(webSocketRoutes, { store, json });

  // MailHog reads a release body as JSON whatever its Content-Type (the npm client sends none).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: RELEASE_BODY_LIMIT }, (_request, body, done) => done(null, body));

  // MailHog's errors are a bare status; Fastify's own refusals here (a body too large, a
  // malformed Content-Type) follow suit, with the Content-Type MailHog's release sets first.
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).type(TEXT_JSON).send();
    throw error;
  });

  const docs = (summary: string, description?: string) => ({ schema: { tags: ['mailhog'], summary, ...(description ? { description } : {}) } });
  const noHead = { exposeHeadRoute: false };

  app.get('/api/v2/messages', { ...noHead, ...docs('MailHog: list messages', 'Newest first; `start` (default 0) and `limit` (default 50, at most 250)') }, async (request, reply) => {
    const { start, limit } = startLimit(request.query as Query);
    const { offset, count } = pageWindow(store.size, start, limit);
    const messages = count === 0 ? [] : store.page(null, offset, count).messages;
    return sendJson(reply, TEXT_JSON, resultJson(json, store.size, start, messages));
  });

  app.get(
    '/api/v2/search',
    { ...noHead, ...docs('MailHog: search messages', '`kind` is from, to or containing, `query` a case-insensitive substring; `start` and `limit` as for the list. 400 with an empty body otherwise') },
    async (request, reply) => {
      const query = request.query as Query;
      const { start, limit } = startLimit(query);
      const kind = queryGet(query, 'kind');
      const text = queryGet(query, 'query');
      if (!isSearchKind(kind) || text === '') return reply.code(400).send();
      const filter = search.filter(kind, text);
      const page = store.page(filter, Number(start), limit);
      const { offset, count } = pageWindow(page.total, start, limit);
      if (count === 0) return sendJson(reply, APPLICATION_JSON, resultJson(json, 0, start, []));
      // The off-by-one window (start equal to the number of matches) takes the oldest match, which this page skipped.
      const messages = offset === Number(start) ? page.messages : store.page(filter, offset, count).messages;
      return sendJson(reply, APPLICATION_JSON, resultJson(json, page.total, start, messages));
    },
  );

  await app.register(jimRoutes, { rules });

  if (compat === 'mailhog') {
    app.get('/api/v1/messages', { ...noHead, ...docs('MailHog: every message', `A bare array, newest first, at most ${V1_LIST_MAX}; with --compat mailhog only`) }, async (_request, reply) =>
      sendJson(reply, TEXT_JSON, json.list('[', store.page(null, 0, V1_LIST_MAX).messages, ']')),
    );
    app.delete('/api/v1/messages', docs('MailHog: delete every message', '200 with an empty body; with --compat mailhog only'), async (_request, reply) => {
      await store.clear();
      return reply.type(TEXT_JSON).send();
    });
  }

  app.get('/api/v1/messages/:id', { ...noHead, ...docs('MailHog: one message', 'An unknown id answers 200 with the body `null`, as MailHog does') }, async (request, reply) => {
    const { id } = request.params as { id: string };
    if (id === '') return reply.callNotFound();
    const message = store.get(id);
    if (!message) return reply.type(TEXT_JSON).send(Buffer.from('null'));
    return sendJson(reply, TEXT_JSON, json.of(message));
  });

  app.delete('/api/v1/messages/:id', docs('MailHog: delete a message', '200 with an empty body; an unknown id answers 500, as MailHog does'), async (request, reply) => {
    const { id } = request.params as { id: string };
    if (id === '') return reply.callNotFound();
    return reply.code((await store.delete([id])).length > 0 ? 200 : 500).type(TEXT_JSON).send();
  });

  app.get('/api/v1/messages/:id/download', { ...noHead, ...docs('MailHog: download a message', 'The message as received, `message/rfc822`, as the attachment `<id>.eml`') }, async (request, reply) => {
    const { id } = request.params as { id: string };
    if (id === '') return reply.callNotFound();
    const message = store.get(id);
    if (!message) return reply.code(404).send();
    // MailHog writes its parsed header map (one value per name, in random order) and the body;
    // no client can rely on that order, and the bytes received are what a download is for.
    return reply.type('message/rfc822').header('content-disposition', `attachment; filename="${id}.eml"`).send(message.raw);
  });

  app.get(
    '/api/v1/messages/:id/mime/part/:part/download',
    { ...noHead, ...docs('MailHog: download a part', 'Top-level part `part` of MIME.Parts, counted from 0: its MIME fields copied onto the response, its body base64 decoded') },
    async (request, reply) => {
      const { id, part: index } = request.params as { id: string; part: string };
      if (id === '' || index === '') return reply.callNotFound();
      const message = store.get(id);
      const part = message ? mailhogMessage(message).MIME?.Parts?.[partIndex(index)] : undefined;
      if (!part) return reply.code(404).send();
      for (const [name, values] of partHeaders(part, id, index)) reply.header(name, values.length === 1 ? values[0] : values);
      // A text/html part opened in a browser must not run as Mailroom's origin.
      reply.header('content-security-policy', "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'");
      // Without a Content-Type of the part's own, Go sniffs one; Mailroom sends bytes as bytes.
      if (!reply.hasHeader('content-type')) reply.type('application/octet-stream');
      return reply.send(partBody(part));
    },
  );

  app.post(
    '/api/v1/messages/:id/release',
    docs(
      'MailHog: release a message over SMTP',
      'Body `{Host, Port, Email, Username, Password, Mechanism}`, keys in any case, `Port` a string; `Mechanism` PLAIN or CRAMMD5 when a username or password is given. ' +
        "200 when sent, 400 for a bad mechanism or a `Name` (saved servers are not kept), 500 when the body does not decode (body `Error decoding request body`) or sending fails; empty bodies otherwise, all `text/json`",
    ),
    async (request, reply) => {
      const { id } = request.params as { id: string };
      if (id === '') return reply.callNotFound();
      reply.type(TEXT_JSON);
      const config = decodeReleaseConfig(Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));
      if (config === null) return reply.code(500).send(Buffer.from('Error decoding request body'));
      const message = store.get(id);
      if (!message) return reply.code(404).send();
      const refused = refusal(config);
      if (refused !== null) {
        request.log.info({ id }, `MailHog release refused: ${refused}`);
        return reply.code(400).send();
      }
      try {
        await relay(message.raw, config);
      } catch (error) {
        request.log.warn({ err: error, id, host: config.Host, port: config.Port }, 'MailHog release failed');
        return reply.code(500).send();
      }
      return reply.send();
    },
  );

  app.get('/api/v1/events', { ...noHead, ...docs('MailHog: new messages as server-sent events', 'Each event is a new message, its JSON indented, one `data:` line per line; `keepalive: ` every minute') }, (_request, reply) => {
    reply.hijack();
    events.add(reply.raw);
  });
};
