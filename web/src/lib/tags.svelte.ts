import { api, type TagCount } from './api.js';
import { Refreshing } from './refreshing.svelte.js';

/** Every tag in use with its count, for the sidebar. */
export class TagCounts extends Refreshing<TagCount> {
  constructor() {
    super(async () => (await api.tags()).tags);
  }
}

/** The search that shows one tag: quoted, since a tag may hold spaces and never holds a quote. */
export const tagQuery = (name: string): string => `tag:"${name}"`;

/** The tag whose search is the current query, so one typed by hand is highlighted too (names compare ignoring case). */
export function activeTag(query: string, tags: readonly TagCount[]): string | null {
  const wanted = query.trim().toLowerCase();
  if (wanted === '') return null;
  return tags.find((tag) => tagQuery(tag.name).toLowerCase() === wanted || `tag:${tag.name}`.toLowerCase() === wanted)?.name ?? null;
}
