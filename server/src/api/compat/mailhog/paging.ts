import { goInt64, queryGet, type Query } from '../go-values.js';

/**
 * MailHog's `start` and `limit` (APIv2 getStartLimit): the first value of
 * each, read as a Go int64; `start` counts when above 0, else 0; `limit` when
 * above 0, capped at 250, else 50. Nothing here is ever refused.
 */
export function startLimit(query: Query): { start: bigint; limit: number } {
  const start = goInt64(queryGet(query, 'start'));
  const limit = goInt64(queryGet(query, 'limit'));
  return {
    start: start !== null && start > 0n ? start : 0n,
    limit: limit !== null && limit > 0n ? Number(limit > 250n ? 250n : limit) : 50,
  };
}

/**
 * Which of `total` newest-first items MailHog's in-memory List and Search
 * return for `start` and `limit`: none past the end, and, by an off-by-one
 * in both, the oldest one when `start` equals `total`.
 */
export function pageWindow(total: number, start: bigint, limit: number): { offset: number; count: number } {
  if (total === 0 || start > BigInt(total)) return { offset: 0, count: 0 };
  if (start === BigInt(total)) return { offset: total - 1, count: 1 };
  const offset = Number(start);
  return { offset, count: Math.min(limit, total - offset) };
}
