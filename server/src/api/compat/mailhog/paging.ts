/**
 * MailHog's `start` and `limit` (APIv2 getStartLimit): the first value of
 * each, read as a Go int64; `start` counts when above 0, else 0; `limit` when
 * above 0, capped at 250, else 50. Nothing here is ever refused.
 */
export function startLimit(query: Record<string, unknown>): { start: bigint; limit: number } {
  const start = goInt64(first(query.start));
  const limit = goInt64(first(query.limit));
  return {
    start: start !== null && start > 0n ? start : 0n,
    limit: limit !== null && limit > 0n ? Number(limit > 250n ? 250n : limit) : 50,
  };
}

/** Go's Query().Get: the first of repeated parameters. */
export function first(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * strconv.ParseInt(s, 10, 64): an optional sign and decimal digits (leading
 * zeros allowed), within int64; null where Go returns an error. A bigint,
 * because MailHog echoes `start` back and int64 outgrows a JS number.
 */
export function goInt64(text: unknown): bigint | null {
  if (typeof text !== 'string') return null;
  const match = /^([+-]?)0*(\d{1,19})$/.exec(text);
  if (!match) return null;
  const value = BigInt(`${match[1]}${match[2]}`);
  return value >= INT64_MIN && value <= INT64_MAX ? value : null;
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
