import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { MessageFilter } from '../../../store/store.js';
import type { StoredMessage } from '../../../store/types.js';
import { goTrimSpace } from './clean.js';
import type { MailpitContext } from './context.js';
import { decodeGoStruct } from './go-decode.js';
import { pageJson, summaryOf } from './message-json.js';
import { queryGet, type Query } from '../go-values.js';
import { LENIENT, pageParams, toIndex } from './params.js';
import { sendError, sendOk, sendRawJson } from './replies.js';
import { BODY_TOO_LARGE, bodyOf } from './request-body.js';
import { allTags } from './tags.js';

export interface ListRoutesDeps {
  context: MailpitContext;
  /** GET and DELETE /api/v1/messages, which MailHog's API has too; off when MailHog's answer them. */
  ownsMessages: boolean;
}

const PageQuery = Type.Object({
  start: Type.Optional(Type.String({ description: 'Offset; used when it is an integer above 0' })),
  limit: Type.Optional(Type.String({ description: 'Page size, default 50, no maximum; 0: every message on /messages, none on /search' })),
  before: Type.Optional(Type.String({ description: 'Only messages received before this date' })),
});
const SearchQuery = Type.Object({
  ...PageQuery.properties,
  query: Type.Optional(Type.String({ description: "Mailpit's search syntax" })),
  tz: Type.Optional(Type.String({ description: 'IANA time zone for dates in the query' })),
});

const NO_SEARCH = 'Error: no search query';

function withBefore(filter: MessageFilter | null, before: number | null): MessageFilter | null {
  if (before === null) return filter;
  if (filter === null) return (m) => m.receivedAt < before;
  return (m) => m.receivedAt < before && filter(m);
}

/** Every match, collected before any is changed, so that marking or deleting never alters the walk that finds them. */
function matching(context: MailpitContext, filter: MessageFilter | null): StoredMessage[] {
  return context.store.page(filter, 0, Number.MAX_SAFE_INTEGER).messages;
}

export const listRoutes: FastifyPluginAsync<ListRoutesDeps> = async (app, { context, ownsMessages }) => {
  const { store } = context;
  const summaries = (messages: StoredMessage[], listing: 'messages' | 'search'): Record<string, unknown>[] =>
    messages.map((m) => summaryOf(m, context.facts.of(m), listing));

  if (ownsMessages) {
    app.get(
      '/api/v1/messages',
      { ...LENIENT, schema: { tags: ['mailpit'], summary: 'List messages, newest first (Mailpit)', querystring: PageQuery } },
      async (request, reply) => {
        const { start, limit, before } = pageParams(request.query as Query);
        // Mailpit applies start only with a limit: limit=0 lists every message from the newest.
        const page = store.page(withBefore(null, before), limit === 0n ? 0 : toIndex(start), limit === 0n ? Number.MAX_SAFE_INTEGER : toIndex(limit));
        const counts = { total: store.size, unread: store.unread, messagesCount: store.size, messagesUnread: store.unread, start: start.toString() };
        return sendRawJson(reply, pageJson(counts, allTags(store), summaries(page.messages, 'messages')));
      },
    );

    app.delete(
      '/api/v1/messages',
      { schema: { tags: ['mailpit'], summary: 'Delete messages by ID, or all of them (Mailpit)', description: 'Body `{"IDs": [...]}`; no body, an invalid one or no IDs deletes every message.' } },
      async (request, reply) => {
        const body = bodyOf(request.body);
        const decoded = body.tooLarge ? null : decodeGoStruct(body.bytes, [{ name: 'IDs', kind: '[]string' }], 'struct { IDs []string }');
        const ids = decoded?.ok ? ((decoded.fields.IDs as string[] | undefined) ?? []) : [];
        if (ids.length === 0) await store.clear();
        else await store.delete(ids);
        return sendOk(reply);
      },
    );
  }

  app.put(
    '/api/v1/messages',
    {
      ...LENIENT,
      schema: {
        tags: ['mailpit'],
        summary: 'Mark messages read or unread (Mailpit)',
        description: 'Body `{"Read": bool, "IDs": [...]}` or `{"Read": bool, "Search": "..."}`; neither marks every message.',
        querystring: Type.Object({ tz: Type.Optional(Type.String()) }),
      },
    },
    async (request, reply) => {
      const body = bodyOf(request.body);
      if (body.tooLarge) return sendError(reply, BODY_TOO_LARGE);
      const fields = [
        { name: 'Read', kind: 'bool' },
        { name: 'IDs', kind: '[]string' },
        { name: 'Search', kind: 'string' },
      ] as const;
      const decoded = decodeGoStruct(body.bytes, fields, 'struct { Read bool; IDs []string; Search string }');
      if (!decoded.ok) return sendError(reply, decoded.error);
      const read = decoded.fields.Read === true;
      const ids = (decoded.fields.IDs as string[] | undefined) ?? [];
      const search = (decoded.fields.Search as string | undefined) ?? '';
      if (ids.length > 0 && search !== '') return sendError(reply, 'You may specify either IDs or a search query, not both');
      const targets = ids.length > 0 ? ids : matching(context, search === '' ? null : context.filter(search, request.query as Query)).map((m) => m.id);
      await Promise.all(targets.map((id) => store.setRead(id, read)));
      return sendOk(reply);
    },
  );

  app.get(
    '/api/v1/search',
    { ...LENIENT, schema: { tags: ['mailpit'], summary: 'Search messages, newest first (Mailpit)', querystring: SearchQuery } },
    async (request, reply) => {
      const query = request.query as Query;
      const search = goTrimSpace(queryGet(query, 'query'));
      if (search === '') return sendError(reply, NO_SEARCH);
      const { start, limit, before } = pageParams(query);
      const page = store.page(withBefore(context.filter(search, query), before), toIndex(start), toIndex(limit));
      const counts = { total: store.size, unread: store.unread, messagesCount: page.total, messagesUnread: page.unread, start: start.toString() };
      return sendRawJson(reply, pageJson(counts, allTags(store), summaries(page.messages, 'search')));
    },
  );

  app.delete(
    '/api/v1/search',
    {
      ...LENIENT,
      schema: { tags: ['mailpit'], summary: 'Delete the messages a search matches (Mailpit)', querystring: Type.Object({ query: Type.Optional(Type.String()), tz: Type.Optional(Type.String()) }) },
    },
    async (request, reply) => {
      const query = request.query as Query;
      const search = goTrimSpace(queryGet(query, 'query'));
      if (search === '') return sendError(reply, NO_SEARCH);
      await store.delete(matching(context, context.filter(search, query)).map((m) => m.id));
      return sendOk(reply);
    },
  );
};
