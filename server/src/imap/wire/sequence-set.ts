/**
 * Sequence sets (RFC 3501 §9 `sequence-set`): `1`, `2:4`, `*`, `5:*`, `1,3:5`.
 * `*` stands for the largest number in use; a range may be written either way
 * round (`4:2` is `2:4`). Kept as ranges, never expanded, so `1:4294967295`
 * costs nothing.
 */
export type Ranges = readonly (readonly [number, number])[];

const MAX_NUMBER = 4_294_967_295;
/** A set with more parts than this is refused rather than walked (RFC 2683 §3.2.1.5 keeps command lines short anyway). */
const MAX_PARTS = 10_000;

function number(text: string, star: number): number | null {
  if (text === '*') return star;
  if (!/^[1-9]\d{0,9}$/.test(text)) return null;
  const n = Number(text);
  return n <= MAX_NUMBER ? n : null;
}

/**
 * Parses a sequence set against `star` (the highest number in use); null when
 * malformed. The ranges come back sorted and merged, so `1:*,1:*,...` costs a
 * walk of the mailbox once, not once per repetition.
 */
export function parseSequenceSet(text: string, star: number): Ranges | null {
  const parts = text.split(',');
  if (parts.length > MAX_PARTS) return null;
  const ranges: [number, number][] = [];
  for (const part of parts) {
    const bounds = part.split(':');
    if (bounds.length > 2) return null;
    const a = number(bounds[0]!, star);
    const b = bounds.length === 2 ? number(bounds[1]!, star) : a;
    if (a === null || b === null) return null;
    ranges.push(a <= b ? [a, b] : [b, a]);
  }
  ranges.sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const range of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && range[0] <= last[1] + 1) last[1] = Math.max(last[1], range[1]);
    else merged.push(range);
  }
  return merged;
}

export function isSequenceSet(text: string): boolean {
  return parseSequenceSet(text, 1) !== null;
}

export function inRanges(ranges: Ranges, n: number): boolean {
  for (const [lo, hi] of ranges) if (n >= lo && n <= hi) return true;
  return false;
}

/**
 * The positions (0-based) of a sorted ascending number list that fall in the
 * (sorted, merged) ranges, ascending: O(ranges × log n + matches).
 */
export function selectSorted(sorted: readonly number[], ranges: Ranges): number[] {
  const hits: number[] = [];
  for (const [lo, hi] of ranges) {
    for (let i = lowerBound(sorted, lo); i < sorted.length && sorted[i]! <= hi; i++) hits.push(i);
  }
  return hits;
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Compact form for responses such as COPYUID (RFC 4315): `1:3,7`. */
export function formatSet(numbers: readonly number[]): string {
  const out: string[] = [];
  let i = 0;
  while (i < numbers.length) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j]! + 1) j++;
    out.push(i === j ? `${numbers[i]}` : `${numbers[i]}:${numbers[j]}`);
    i = j + 1;
  }
  return out.join(',');
}
