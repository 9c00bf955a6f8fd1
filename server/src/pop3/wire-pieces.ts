const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const LF_DOT = Buffer.from('\n.');
const CR_BYTE = Buffer.from('\r');
const DOT_BYTE = Buffer.from('.');

/**
 * Stored bytes per piece of a message being sent: the socket's backlog is
 * checked between pieces, so a session queues at most OUTPUT_HIGH_WATER plus
 * one piece (doubled at worst by the insertions below).
 */
export const PIECE_BYTES = 64 * 1024;

/**
 * A piece needing more inserted bytes than this is copied into one buffer;
 * with fewer it goes out as slices of the stored bytes around them. Each
 * queued slice costs the socket about a hundred bytes of bookkeeping, so a
 * piece of bare-LF or dotted lines must not become thousands of tiny writes.
 */
const MAX_INSERTIONS_AS_SLICES = 16;

/** Where the piece being built needs a byte inserted; pieces are built one at a time, synchronously. */
const insertions = new Int32Array(PIECE_BYTES);

/**
 * raw[0, end) as it goes on the wire, one piece at a time: a CR before every
 * bare LF when `convert` (RFC 1939 §3 and RFC 937 speak in CRLF lines), and
 * with `stuff` a dot before every line that starts with one (RFC 1939 §3).
 * Stored bytes are not copied unless a piece needs many insertions.
 */
export function* wirePieces(raw: Buffer, end: number, convert: boolean, stuff: boolean): Generator<Buffer[], void, unknown> {
  for (let start = 0; start < end; start += PIECE_BYTES) yield piece(raw, start, Math.min(end, start + PIECE_BYTES), convert, stuff);
}

function piece(raw: Buffer, start: number, stop: number, convert: boolean, stuff: boolean): Buffer[] {
  let count = 0;
  // An insertion sits before a byte of this piece, but may depend on the byte before it.
  const view = raw.subarray(0, stop);
  const from = Math.max(start - 1, 0);
  if (stuff && start === 0 && raw[0] === DOT) insertions[count++] = 0;
  if (convert) {
    for (let i = view.indexOf(LF, from); i >= 0; i = view.indexOf(LF, i + 1)) {
      if (i >= start && (i === 0 || raw[i - 1] !== CR)) insertions[count++] = i;
      if (stuff && i + 1 < stop && raw[i + 1] === DOT) insertions[count++] = i + 1;
    }
  } else if (stuff) {
    for (let i = view.indexOf(LF_DOT, from); i >= 0; i = view.indexOf(LF_DOT, i + 1)) insertions[count++] = i + 1;
  }
  if (count === 0) return [start === 0 && stop === raw.length ? raw : raw.subarray(start, stop)];
  if (count <= MAX_INSERTIONS_AS_SLICES) {
    const slices: Buffer[] = [];
    let at = start;
    for (let k = 0; k < count; k++) {
      const position = insertions[k]!;
      if (position > at) slices.push(raw.subarray(at, position));
      slices.push(raw[position] === LF ? CR_BYTE : DOT_BYTE);
      at = position;
    }
    if (stop > at) slices.push(raw.subarray(at, stop));
    return slices;
  }
  const out = Buffer.allocUnsafe(stop - start + count);
  let o = 0;
  let at = start;
  for (let k = 0; k < count; k++) {
    const position = insertions[k]!;
    o += raw.copy(out, o, at, position);
    out[o++] = raw[position] === LF ? CR : DOT;
    at = position;
  }
  raw.copy(out, o, at, stop);
  return [out];
}

/**
 * Where TOP's reply ends in the stored bytes (RFC 1939 §7): after the header,
 * the empty line and `lines` lines of body; the whole message when it has no
 * empty line. Lines end at LF, whether or not a CR precedes it, so these are
 * the same lines as in the CRLF form the client sees.
 */
export function topEnd(raw: Buffer, lines: number): number {
  let end = -1;
  for (let i = raw.indexOf(LF); i >= 0; i = raw.indexOf(LF, i + 1)) {
    if (raw[i + 1] === LF) {
      end = i + 2;
      break;
    }
    if (raw[i + 1] === CR && raw[i + 2] === LF) {
      end = i + 3;
      break;
    }
  }
  if (end < 0) return raw.length;
  for (let n = 0; n < lines && end < raw.length; n++) {
    const eol = raw.indexOf(LF, end);
    end = eol < 0 ? raw.length : eol + 1;
  }
  return end;
}
