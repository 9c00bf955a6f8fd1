import type { MimePart } from '../../mime/part-index.js';
import { findSectionPart } from './find-section-part.js';
import { headerFields } from './header-fields.js';
import type { SectionItem } from './items.js';
import { wireSlice } from './wire-form.js';

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);
/** As in mime/part-index.ts: longer lines are never read as delimiters. */
const MAX_DELIMITER_LINE = 1000;

/**
 * Where an entity's header ends for HEADER and MIME. When the body is empty
 * and a boundary delimiter follows, the header's last line break belongs to
 * that delimiter (RFC 2046 §5.1.1), whether it ended a field or the empty
 * line, and Dovecot leaves it out; the index keeps it, so that the parts
 * around reach as far. A header that runs to the end of the message keeps it.
 */
function headerEnd(raw: Buffer, entity: MimePart): number {
  const { headerStart: start, bodyStart: end } = entity;
  if (end === raw.length || end !== entity.bodyEnd || end === start || raw[end - 1] !== LF) return end;
  return end - 1 > start && raw[end - 2] === CR ? end - 2 : end - 1;
}

/**
 * Where an entity's body ends for BODY[n] and TEXT. A multipart body (or a
 * message/rfc822 body holding one) that ends with its close-delimiter line
 * keeps that line's line break even when the enclosing delimiter comes
 * right after it: Dovecot gives a line break to the delimiter after it only
 * when it does not already end a boundary line. The index gives it to the
 * delimiter (so a message/rfc822 part's BODYSTRUCTURE size comes out two
 * octets short of Dovecot's in that case); this puts it back.
 */
function bodyEnd(raw: Buffer, entity: MimePart): number {
  const { bodyStart: start, bodyEnd: end } = entity;
  if (end === start || end >= raw.length || (raw[end] !== CR && raw[end] !== LF)) return end;
  let inner = entity;
  while (inner.message !== null) inner = inner.message;
  const boundary = inner.type === 'multipart' ? inner.params.boundary : undefined;
  if (!boundary) return end;
  const lineStart = start + raw.subarray(start, end).lastIndexOf(LF) + 1;
  // RFC 2046 §5.1.1: close-delimiter := delimiter "--", then transport padding (the index reads no longer lines).
  if (end - lineStart > MAX_DELIMITER_LINE || raw.toString('latin1', lineStart, end).replace(/[ \t]+$/, '') !== `--${boundary}--`) return end;
  return raw[end] === CR && raw[end + 1] === LF ? end + 2 : end + 1;
}

/**
 * The range of raw a section serves, or null when the message has no such
 * section. For HEADER.FIELDS it is the whole header block as the index has
 * it, so that the fields keep their line breaks.
 */
function sectionRange(raw: Buffer, root: MimePart, item: SectionItem): { start: number; end: number } | null {
  let entity = root;
  if (item.part.length > 0) {
    const part = findSectionPart(root, item.part);
    if (part === null) return null;
    if (item.text === '') return { start: part.bodyStart, end: bodyEnd(raw, part) };
    if (item.text === 'MIME') return { start: part.headerStart, end: headerEnd(raw, part) };
    // HEADER, TEXT and HEADER.FIELDS after a part number name the message inside a message/rfc822 part.
    if (part.message === null) return null;
    entity = part.message;
  } else if (item.text === '') {
    return { start: 0, end: raw.length };
  }
  switch (item.text) {
    case 'TEXT':
      return { start: entity.bodyStart, end: bodyEnd(raw, entity) };
    case 'HEADER':
      return { start: entity.headerStart, end: headerEnd(raw, entity) };
    default:
      return { start: entity.headerStart, end: entity.bodyStart };
  }
}

/**
 * The octets BODY[section]<partial> sends (RFC 3501 §6.4.5) in wire form:
 * empty for a section the message does not have, as in Dovecot (RFC 3501
 * leaves it open). Whole ranges come back as views of `raw` where possible.
 */
export function sectionContent(raw: Buffer, root: MimePart, item: SectionItem): Buffer {
  const range = sectionRange(raw, root, item);
  if (range === null) return EMPTY;
  const { partial } = item;
  if (item.text === 'HEADER.FIELDS' || item.text === 'HEADER.FIELDS.NOT') {
    const fields = headerFields(raw, range.start, range.end, item.fields, {
      exclude: item.text === 'HEADER.FIELDS.NOT',
      // Dovecot builds the top-level HEADER.FIELDS from its cache, which always ends it with an empty line.
      alwaysBlankLine: item.text === 'HEADER.FIELDS' && item.part.length === 0,
    });
    return partial === null ? fields : fields.subarray(partial.start, partial.start + partial.length);
  }
  return wireSlice(raw, range.start, range.end, partial?.start, partial?.length);
}
