/** The IMAP FETCH data-item layer (RFC 3501 §6.4.5, §7.4.2): parse the items once per command, render them per message. */
export type { FetchItem, FetchRequest, LongItem, SectionItem, SectionText, ShortItem } from './items.js';
export { parseFetch } from './parse.js';
export { renderFetch, renderFetchParts, type RenderedFetch } from './render.js';
