import type { BodyTexts } from '../search/body-texts.js';
import { compileQuery, QueryError } from '../search/query.js';
import type { MessageFilter } from '../store/store.js';
import { badRequest } from './errors.js';

/** The query language as every route takes it, with its 400 for a query that does not parse. */
export function filterOf(query: string | undefined, texts: BodyTexts): MessageFilter | null {
  try {
    return compileQuery(query, (message) => texts.get(message));
  } catch (error) {
    if (error instanceof QueryError) throw badRequest(`query: ${error.message}`);
    throw error;
  }
}
