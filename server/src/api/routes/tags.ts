import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Store } from '../../store/store.js';
import { isValidTag, TAG_MAX_LENGTH } from '../../store/tags.js';
import { HttpError, notFound } from '../errors.js';
import { ErrorBody } from '../schemas.js';

export interface TagRoutesDeps {
  store: Store;
}

/** Tags one message may carry: more is a runaway script, and each one is kept per message. */
export const MAX_TAGS_PER_MESSAGE = 100;

export const TagList = Type.Array(Type.String({ maxLength: TAG_MAX_LENGTH }), {
  maxItems: MAX_TAGS_PER_MESSAGE,
  description: `Replaces the message's tags. A tag holds no +, brackets, quotes, %, * or backslash, and spaces only singly between words; at most ${TAG_MAX_LENGTH} characters`,
});

const invalidTag = (name: string): HttpError =>
  new HttpError(400, 'invalid_tag', `"${name}" is not a tag name: use letters, digits and punctuation other than + ( ) { } % * " \\ ], with single spaces between words, at most ${TAG_MAX_LENGTH} characters`);

export function checkTags(tags: readonly string[]): void {
  for (const tag of tags) if (!isValidTag(tag)) throw invalidTag(tag);
}

const TagName = Type.Object({ name: Type.String({ maxLength: TAG_MAX_LENGTH }) });
const TagCounts = Type.Object({ tags: Type.Array(Type.Object({ name: Type.String(), count: Type.Integer({ description: 'Messages with the tag' }) })) });
const Changed = Type.Object({ changed: Type.Integer({ description: 'Messages whose tags changed' }) });
const errors = { 400: ErrorBody, 404: ErrorBody };

/** Tags across the store: set them per message with PATCH /api/messages/{id}. */
export const tagRoutes: FastifyPluginAsync<TagRoutesDeps> = async (fastify, { store }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const existing = (name: string): string => {
    if (!store.hasTag(name)) throw notFound(`No message has the tag "${name}"`);
    return name;
  };

  app.get(
    '/tags',
    { schema: { summary: 'Every tag in use, with how many messages carry it, by name ignoring case', tags: ['tags'], response: { 200: TagCounts } } },
    async () => ({ tags: store.tags() }),
  );

  app.patch(
    '/tags/:name',
    {
      schema: {
        summary: 'Rename a tag on every message that carries it',
        description: 'Names compare ignoring case, so a rename may change only case. Renaming onto another tag in use answers 400.',
        tags: ['tags'],
        params: TagName,
        body: Type.Object({ name: Type.String({ maxLength: TAG_MAX_LENGTH }) }, { additionalProperties: false }),
        response: { 200: Changed, ...errors },
      },
    },
    async (request) => {
      const from = existing(request.params.name);
      const to = request.body.name;
      checkTags([to]);
      if (to.toLowerCase() !== from.toLowerCase() && store.hasTag(to)) throw new HttpError(400, 'tag_exists', `The tag "${to}" is already in use`);
      return { changed: await store.renameTag(from, to) };
    },
  );

  app.delete(
    '/tags/:name',
    {
      schema: { summary: 'Take a tag off every message', tags: ['tags'], params: TagName, response: { 200: Changed, ...errors } },
    },
    async (request) => ({ changed: await store.deleteTag(existing(request.params.name)) }),
  );
};
