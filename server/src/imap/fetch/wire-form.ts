/**
 * Message bytes as IMAP serves them. Stored mail may use bare LF line ends;
 * IMAP speaks CRLF (RFC 3501 §2.2), so every LF without a CR before it goes
 * out as CRLF, and every size and partial offset counts that CRLF form, as
 * Dovecot does (a bare CR is left alone). NUL may not appear in a literal
 * (RFC 3501 §9 CHAR8), so it goes out as 0x80, again as in Dovecot.
 */

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const NUL_STANDIN = 0x80;

/** The first LF at or after `from` and before `end` that has no CR right before it (`start` counts as a line start), or -1. */
function nextBareLf(raw: Buffer, start: number, from: number, end: number): number {
  for (let i = raw.indexOf(LF, from); i >= 0 && i < end; i = raw.indexOf(LF, i + 1)) {
    if (i === start || raw[i - 1] !== CR) return i;
  }
  return -1;
}

/** raw[from, to) into out at `at`; short runs byte by byte, which is cheaper than a native call. */
function copy(raw: Buffer, from: number, to: number, out: Buffer, at: number): void {
  if (to - from > 32) raw.copy(out, at, from, to);
  else for (let i = from; i < to; i++) out[at++] = raw[i]!;
}

/**
 * Walks the wire form of raw[start, end) as far as the window [from, to)
 * reaches and returns how many of its octets fall in the window, copying
 * them into `out` when given: runs between bare LFs are copied whole, and a
 * bare LF is a CR and an LF, either of which may lie at a window edge.
 */
function walk(raw: Buffer, start: number, end: number, from: number, to: number, out: Buffer | null): number {
  let size = 0;
  let pos = start;
  // the wire offset of raw[pos]
  let v = 0;
  while (pos < end && v < to) {
    const lf = nextBareLf(raw, start, pos, end);
    const runEnd = lf < 0 ? end : lf;
    const a = Math.max(from - v, 0);
    const b = Math.min(to - v, runEnd - pos);
    if (a < b) {
      if (out !== null) copy(raw, pos + a, pos + b, out, size);
      size += b - a;
    }
    v += runEnd - pos;
    if (lf < 0) break;
    if (v >= from && v < to) {
      if (out !== null) out[size] = CR;
      size += 1;
    }
    if (v + 1 >= from && v + 1 < to) {
      if (out !== null) out[size] = LF;
      size += 1;
    }
    v += 2;
    pos = lf + 1;
  }
  return size;
}

/** Replaces NUL bytes, copying first when the bytes are a view of the stored message. */
function withoutNuls(bytes: Buffer, isView: boolean): Buffer {
  let nul = bytes.indexOf(NUL);
  if (nul < 0) return bytes;
  const out = isView ? Buffer.from(bytes) : bytes;
  for (; nul >= 0; nul = out.indexOf(NUL, nul + 1)) out[nul] = NUL_STANDIN;
  return out;
}

/**
 * raw[start, end) in wire form, cut to the octets [from, from + length) of
 * that form (RFC 3501 §6.4.5 partial: nothing when `from` is past the end).
 * Without bare LFs or NULs the result is a view of `raw`, not a copy.
 * Otherwise the window is measured, then copied run by run. No pass goes
 * past the end of the window, so a partial near the start of a large
 * message costs little.
 */
export function wireSlice(raw: Buffer, start: number, end: number, from = 0, length = Infinity): Buffer {
  const to = from + length;
  // Up to the end of the window the two forms are the same until the first bare LF.
  const reach = Math.min(end, start + to);
  if (nextBareLf(raw, start, start, reach) < 0) return withoutNuls(raw.subarray(Math.min(start + from, reach), reach), true);
  const out = Buffer.allocUnsafe(walk(raw, start, end, from, to, null));
  walk(raw, start, end, from, to, out);
  return withoutNuls(out, false);
}
