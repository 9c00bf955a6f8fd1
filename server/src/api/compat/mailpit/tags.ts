import type { FastifyPluginAsync } from 'fastify';
import type { Store } from '../../../store/store.js';
import { byTagName, cleanTag, tagsOf } from '../../../store/tags.js';
import type { StoredMessage } from '../../../store/types.js';
import { decodeGoStruct } from './go-decode.js';
import { sendError, sendJson, sendOk } from './replies.js';
import { BODY_TOO_LARGE, bodyOf } from './request-body.js';

export interface TagRoutesDeps {
  store: Store;
}

/** A message's tags as Mailpit lists them: by name, ignoring case (SQLite's NOCASE). */
export const mailpitTagsOf = (message: StoredMessage): string[] => tagsOf(message).sort(byTagName);

/** Every tag in use, in the same order (storage.GetAllTags). */
export const allTags = (store: Store): string[] => store.tags().map((t) => t.name);

/**
 * Mailpit's tag routes (server/apiv1/tags.go, internal/storage/tags.go) on the store's tags,
 * which IMAP shows as keywords and Mailroom's own API and query language share.
 */
export const tagRoutes: FastifyPluginAsync<TagRoutesDeps> = async (app, { store }) => {
  app.get('/api/v1/tags', { schema: { tags: ['mailpit'], summary: 'Every tag in use, by name (Mailpit)' } }, async (_request, reply) => sendJson(reply, allTags(store)));

  app.put(
    '/api/v1/tags',
    {
      schema: {
        tags: ['mailpit'],
        summary: "Replace the tags of messages (Mailpit)",
        description: 'Body `{"Tags": [...], "IDs": [...]}`; no Tags clears them. Tags are cleaned as Mailpit cleans them; unknown IDs are ignored.',
      },
    },
    async (request, reply) => {
      const body = bodyOf(request.body);
      if (body.tooLarge) return sendError(reply, BODY_TOO_LARGE);
      const fields = [
        { name: 'Tags', kind: '[]string' },
        { name: 'IDs', kind: '[]string' },
      ] as const;
      const decoded = decodeGoStruct(body.bytes, fields, 'struct { Tags []string; IDs []string }');
      if (!decoded.ok) return sendError(reply, decoded.error);
      const tags = ((decoded.fields.Tags as string[] | undefined) ?? []).flatMap((t) => cleanTag(t) ?? []);
      await Promise.all(((decoded.fields.IDs as string[] | undefined) ?? []).map((id) => store.setTags(id, tags)));
      return sendOk(reply);
    },
  );

  app.put<{ Params: { tag: string } }>(
    '/api/v1/tags/:tag',
    { schema: { tags: ['mailpit'], summary: 'Rename a tag on every message (Mailpit)', description: 'Body `{"Name": "new name"}`.' } },
    async (request, reply) => {
      const body = bodyOf(request.body);
      if (body.tooLarge) return sendError(reply, BODY_TOO_LARGE);
      const decoded = decodeGoStruct(body.bytes, [{ name: 'Name', kind: 'string' }], 'struct { Name string }');
      if (!decoded.ok) return sendError(reply, decoded.error);
      const from = request.params.tag;
      const to = cleanTag((decoded.fields.Name as string | undefined) ?? '');
      if (to === null) return sendError(reply, 'invalid tag name: ');
      if (from === to) return sendOk(reply);
      if (!store.hasTag(from)) return sendError(reply, `tag not found: ${from}`);
      if (to.toLowerCase() !== from.toLowerCase() && store.hasTag(to)) return sendError(reply, `tag already exists: ${to}`);
      await store.renameTag(from, to);
      return sendOk(reply);
    },
  );

  app.delete<{ Params: { tag: string } }>(
    '/api/v1/tags/:tag',
    { schema: { tags: ['mailpit'], summary: 'Take a tag off every message (Mailpit)' } },
    async (request, reply) => {
      const { tag } = request.params;
      if (!store.hasTag(tag)) return sendError(reply, `tag not found: ${tag}`);
      await store.deleteTag(tag);
      return sendOk(reply);
    },
  );
};
