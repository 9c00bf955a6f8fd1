import { asciiUpper } from './ascii.js';
import { wireSlice } from './wire-form.js';

/**
 * HEADER.FIELDS and HEADER.FIELDS.NOT (RFC 3501 §6.4.5): a header block with
 * only the named fields, or without them, as Dovecot serves it:
 * - a field is its first line and every following line that starts with SP
 *   or HTAB (RFC 5322 §2.2.3), sent as written (folds kept, CRLF line ends);
 * - its name is what comes before the first colon, less trailing blanks
 *   (`Subject :`, RFC 5322 §4.5), compared without regard to ASCII case; a
 *   line without a colon never matches, so it is never included and never
 *   left out;
 * - HEADER.FIELDS sends the fields in message order, every occurrence,
 *   each ending in CRLF even if the header did not; HEADER.FIELDS.NOT sends
 *   the rest of the block as it is;
 * - the empty line that ends the header follows when the header has one
 *   (RFC 3501 §6.4.5: "the blank line is included in all header fetches,
 *   except in the case of a message which has no body and no blank line"),
 *   or, with `alwaysBlankLine`, whether it has one or not.
 */

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const TAB = 0x09;
const COLON = 0x3a;
const CRLF = Buffer.from('\r\n');

interface Field {
  start: number;
  /** After the field's last line break (or at the end of the block when the last line has none). */
  end: number;
  /** Upper-cased name, or null for a line without a colon. */
  name: string | null;
}

/** The name of the field whose first line is raw[start, lineEnd). */
function fieldName(raw: Buffer, start: number, lineEnd: number): string | null {
  let colon = start;
  while (colon < lineEnd && raw[colon] !== COLON) colon++;
  if (colon === lineEnd) return null;
  let nameEnd = colon;
  while (nameEnd > start && (raw[nameEnd - 1] === SP || raw[nameEnd - 1] === TAB)) nameEnd--;
  return asciiUpper(raw.toString('latin1', start, nameEnd));
}

/** The fields of the header block raw[start, end), and where its empty line starts (-1 when it has none). */
function splitFields(raw: Buffer, start: number, end: number): { fields: Field[]; blankLine: number } {
  const fields: Field[] = [];
  let pos = start;
  while (pos < end) {
    const lf = raw.indexOf(LF, pos);
    const hasLf = lf >= 0 && lf < end;
    const next = hasLf ? lf + 1 : end;
    const contentEnd = hasLf ? (lf > pos && raw[lf - 1] === CR ? lf - 1 : lf) : end;
    if (hasLf && contentEnd === pos) return { fields, blankLine: pos };
    const first = raw[pos];
    const last = fields[fields.length - 1];
    if ((first === SP || first === TAB) && last !== undefined) last.end = next;
    else fields.push({ start: pos, end: next, name: fieldName(raw, pos, contentEnd) });
    pos = next;
  }
  return { fields, blankLine: -1 };
}

/** HEADER.FIELDS (or with `exclude`, HEADER.FIELDS.NOT) of the header block raw[start, end), in wire form. */
export function headerFields(
  raw: Buffer,
  start: number,
  end: number,
  names: readonly string[],
  { exclude, alwaysBlankLine }: { exclude: boolean; alwaysBlankLine: boolean },
): Buffer {
  const wanted = new Set(names);
  const { fields, blankLine } = splitFields(raw, start, end);
  const chunks: Buffer[] = [];
  for (const field of fields) {
    const named = field.name !== null && wanted.has(field.name);
    if (exclude ? named : !named) continue;
    chunks.push(wireSlice(raw, field.start, field.end));
    if (!exclude && raw[field.end - 1] !== LF) chunks.push(CRLF);
  }
  if (alwaysBlankLine) chunks.push(CRLF);
  else if (blankLine >= 0) chunks.push(wireSlice(raw, blankLine, end));
  return Buffer.concat(chunks);
}
