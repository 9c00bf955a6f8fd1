import { parseSearchDate } from './dates.js';

/**
 * Route options for Mailpit's lenient parameters: Mailpit takes any query string and reads it as
 * Go does, so a shape the schema (there for the OpenAPI document) does not expect is never refused.
 */
export const LENIENT = { attachValidation: true } as const;

/** A query string as Fastify parses it: a repeated name gives an array. */
export type Query = Record<string, string | string[] | undefined>;

/** Go's url.Values.Get: the first value of a name, '' when absent. */
export function param(query: Query, name: string): string {
  const value = query[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Go's strconv.Atoi: decimal with an optional sign, within int64; null for anything else. */
export function goAtoi(text: string): bigint | null {
  if (!/^[+-]?\d{1,30}$/.test(text)) return null;
  const value = BigInt(text);
  return value >= INT64_MIN && value <= INT64_MAX ? value : null;
}

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
  const start = goAtoi(param(query, 'start'));
  const limit = goAtoi(param(query, 'limit'));
  const before = param(query, 'before');
  return {
    start: start !== null && start > 0n ? start : 0n,
    limit: limit !== null && limit >= 0n ? limit : 50n,
    before: before === '' ? null : parseSearchDate(before, null),
  };
}
