/** A query string as Fastify parses it: a repeated name gives an array. */
export type Query = Record<string, string | string[] | undefined>;

/** Go's url.Values.Get, as both servers read their parameters: the first value of a name, '' when absent. */
export function queryGet(query: Query, name: string): string {
  const value = query[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * strconv.ParseInt(s, 10, 64), as strconv.Atoi is on 64-bit Go: an optional sign and decimal
 * digits (leading zeros allowed), within int64; null where Go returns an error. A bigint,
 * because both servers echo `start` back and int64 outgrows a JS number.
 */
export function goInt64(text: unknown): bigint | null {
  if (typeof text !== 'string') return null;
  const match = /^([+-]?)0*(\d{1,19})$/.exec(text);
  if (!match) return null;
  const value = BigInt(`${match[1]}${match[2]}`);
  return value >= INT64_MIN && value <= INT64_MAX ? value : null;
}

/**
 * Go strings are bytes; compat code holds them as "byte strings", one latin1 character per byte,
 * so that lengths, escapes and comparisons go by bytes as Go's do. This is text (UTF-8 in
 * SMTPUTF8 envelopes) as a Go string.
 */
export const byteString = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

/** The bytes a byte string holds, as Go writes a string. */
export const bytesOf = (bytes: string): Buffer => Buffer.from(bytes, 'latin1');
