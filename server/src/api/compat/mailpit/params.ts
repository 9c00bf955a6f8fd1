import { goInt64, queryGet, type Query } from '../go-values.js';
import { parseSearchDate } from './dates.js';

/**
 * Route options for Mailpit's lenient parameters: Mailpit takes any query string and reads it as
 * Go does, so a shape the schema (there for the OpenAPI document) does not expect is never refused.
 */
export const LENIENT = { attachValidation: true } as const;


/** A count from Go's int64, as far as an array index can go. */
export const toIndex = (value: bigint): number => (value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value));

export interface PageParams {
  start: bigint;
  /** 0 means every message on /messages and none on /search. */
  limit: bigint;
  /** Epoch milliseconds; only messages received earlier are listed. */
  before: number | null;
}

/**
 * Mailpit's getStartLimit: start when it parses as an integer above 0, else 0; limit when it
 * parses as an integer of at least 0, else 50, with no upper bound; before when dateparse reads
 * it in the server's zone, silently ignored otherwise.
 */
export function pageParams(query: Query): PageParams {
  const start = goInt64(queryGet(query, 'start'));
  const limit = goInt64(queryGet(query, 'limit'));
  const before = queryGet(query, 'before');
  return {
    start: start !== null && start > 0n ? start : 0n,
    limit: limit !== null && limit >= 0n ? limit : 50n,
    before: before === '' ? null : parseSearchDate(before, null),
  };
}
