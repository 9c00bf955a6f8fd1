import { parseDispositionValue, parseMediaType, type Param } from './content-fields.js';
import { decodeCharset } from './decode.js';
import { decodeWords, detach, firstHeader, parseHeaderFields, type HeaderField } from './headers.js';

/**
 * One MIME entity inside a raw message, located by byte offsets so that any
 * consumer (API, IMAP BODY[section], downloads) can slice instead of re-serialising.
 */
export interface MimePart {
  /**
   * IMAP section number (RFC 3501 §6.4.5). A multipart container has no number
   * of its own: at the top it is '', inside a message/rfc822 part it repeats
   * that part's number, so that its children read `2.1`, `2.2`.
   */
  section: string;
  headerStart: number;
  /** Start of the body; the header block (with its blank line, when present) is [headerStart, bodyStart). */
  bodyStart: number;
  bodyEnd: number;
  /** Lower-case media type and subtype. */
  type: string;
  subtype: string;
  /** Parameters with lower-case names, RFC 2231 continuations joined and decoded. */
  params: Record<string, string>;
  encoding: string;
  disposition: string | null;
  dispositionParams: Record<string, string>;
  filename: string | null;
  contentId: string | null;
  children: readonly MimePart[];
  /** The encapsulated message of a message/rfc822 part. */
  message: MimePart | null;
}

export interface MessageIndex {
  root: MimePart;
  /** The top-level header, parsed once here so nobody parses it again. */
  headers: HeaderField[];
  /** True when the depth or part-count cap cut the tree short; the rest is body of the last part. */
  truncated: boolean;
}

/** The same caps Dovecot's message parser applies, so both servers agree on where a tree stops. */
export const MAX_MIME_DEPTH = 100;
export const MAX_MIME_PARTS = 10_000;
/** RFC 2046 §5.1.1 limits boundaries to 70 characters; longer lines are never delimiters worth reading. */
const MAX_DELIMITER_LINE = 1000;

/** How far from an entity's start its empty line is looked for before scanning further. */
const HEADER_WINDOW = 16 * 1024;

/**
 * The first empty line in [start, end) (CRLF CRLF, LF LF, or a mix), as the end
 * of the header fields and the start of the body; null when there is none.
 */
function blankLine(raw: Buffer, start: number, end: number): { fieldsEnd: number; bodyStart: number } | null {
  if (start >= end) return null;
  if (raw[start] === LF) return { fieldsEnd: start, bodyStart: start + 1 };
  if (raw[start] === CR && raw[start + 1] === LF) return { fieldsEnd: start, bodyStart: start + 2 };
  const view = raw.subarray(start, end);
  const crlf = view.indexOf(LF_CRLF);
  const lflf = view.subarray(0, crlf < 0 ? view.length : crlf + 1).indexOf(LF_LF);
  if (lflf >= 0) return { fieldsEnd: start + lflf + 1, bodyStart: start + lflf + 2 };
  if (crlf >= 0) return { fieldsEnd: start + crlf + 1, bodyStart: start + crlf + 3 };
  return null;
}

/** Shared by every part without children or disposition parameters: most parts have neither. */
const NO_PARTS: readonly MimePart[] = Object.freeze([]);
const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * Media types, encodings and dispositions repeat across messages; one shared
 * copy of each keeps the store's per-message memory down. Bounded so that
 * hostile mail cannot grow it without end.
 */
const tokens = new Map<string, string>();
const MAX_TOKENS = 1024;

function token(text: string): string {
  const shared = tokens.get(text);
  if (shared !== undefined) return shared;
  if (tokens.size < MAX_TOKENS) tokens.set(text, text);
  return text;
}

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;
const NL_DASHES = Buffer.from('\n--');
const LF_CRLF = Buffer.from('\n\r\n');
const LF_LF = Buffer.from('\n\n');

interface Frame {
  part: MimePart;
  children: MimePart[];
  boundary: string;
  /** Depth of `part` in the `open` stack. */
  openIndex: number;
  /** A boundary shadowed by this one (broken mail reusing an outer boundary); restored on pop. */
  shadowed: Frame | undefined;
}

/** An RFC 2231 extended value, charset'language'percent-encoded, as text. */
function decodeExtended(value: string): string {
  const match = /^([^']*)'[^']*'(.*)$/s.exec(value);
  if (!match) return value;
  const bytes = Buffer.from(match[2]!.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  return decodeCharset(bytes, match[1] || 'us-ascii');
}

/**
 * Parameters by lower-case name, as text: RFC 2231 continuations arrive
 * joined, extended values are decoded and win over plain ones, and RFC 2047
 * encoded words (which broken mailers put in file names) are decoded too.
 */
function decodeParams(params: readonly Param[]): Record<string, string> {
  if (params.length === 0) return NO_PARAMS;
  // No prototype, so a parameter named __proto__ is just a parameter.
  const out = Object.create(null) as Record<string, string>;
  for (const { name, value } of params) {
    const key = name.toLowerCase();
    if (key.endsWith('*')) out[key.slice(0, -1)] = detach(decodeExtended(value));
    else if (!(key in out)) out[key] = detach(decodeWords(value));
  }
  return out;
}

function contentIdOf(value: string | undefined): string | null {
  if (value === undefined) return null;
  const id = value.trim().replace(/^<(.*)>$/s, '$1').trim();
  return id === '' ? null : detach(id);
}

/**
 * Indexes a raw message into its MIME tree in one pass over the bytes.
 *
 * Delimiter lines are found with a native search for "\n--" and matched against
 * every active boundary through a map, so nesting costs nothing per byte and the
 * whole pass is linear in the message size. Any delimiter of an enclosing
 * multipart also ends the parts inside it (RFC 2046 §5.1.2), which is how a
 * missing close-delimiter is repaired.
 */
export function indexMessage(raw: Buffer): MessageIndex {
  return new Indexer(raw).run();
}

class Indexer {
  private readonly open: MimePart[] = [];
  private readonly frames: Frame[] = [];
  private readonly active = new Map<string, Frame>();
  private parts = 0;
  private truncated = false;
  private pos = 0;

  constructor(private readonly raw: Buffer) {}

  run(): MessageIndex {
    const { part: root, headers } = this.openEntity(0, '1', '', 'text/plain');
    while (this.active.size > 0) {
      const lineStart = this.nextCandidate();
      if (lineStart < 0) break;
      this.readCandidate(lineStart);
    }
    for (const part of this.open) part.bodyEnd = Math.max(part.bodyStart, this.raw.length);
    return { root, headers, truncated: this.truncated };
  }

  /** Start of the next line beginning with "--" at or after pos (pos is always a line start). */
  private nextCandidate(): number {
    const { raw, pos } = this;
    if (raw[pos] === DASH && raw[pos + 1] === DASH) return pos;
    return this.nextDashLine(pos);
  }

  /** Start of the first line after `pos` that begins with "--", or -1. */
  private nextDashLine(pos: number): number {
    const found = this.raw.indexOf(NL_DASHES, pos);
    return found < 0 ? -1 : found + 1;
  }

  private lineEnd(lineStart: number): { end: number; next: number } {
    const lf = this.raw.indexOf(LF, lineStart);
    if (lf < 0) return { end: this.raw.length, next: this.raw.length };
    return { end: lf > lineStart && this.raw[lf - 1] === CR ? lf - 1 : lf, next: lf + 1 };
  }

  /** Matches a "--..." line against the active boundaries. */
  private delimiterAt(lineStart: number, end: number): { frame: Frame; close: boolean } | null {
    if (end - lineStart > MAX_DELIMITER_LINE) return null;
    let token = this.raw.toString('latin1', lineStart + 2, end);
    // Transport padding after a delimiter is allowed (RFC 2046 §5.1.1).
    token = token.replace(/[ \t]+$/, '');
    const frame = this.active.get(token);
    if (frame) return { frame, close: false };
    if (token.endsWith('--')) {
      const closing = this.active.get(token.slice(0, -2));
      if (closing) return { frame: closing, close: true };
    }
    return null;
  }

  private readCandidate(lineStart: number): void {
    const { end, next } = this.lineEnd(lineStart);
    const match = this.delimiterAt(lineStart, end);
    this.pos = next;
    if (!match) return;
    const { frame, close } = match;
    // The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
    let cut = lineStart;
    if (cut > 0 && this.raw[cut - 1] === LF) cut -= cut > 1 && this.raw[cut - 2] === CR ? 2 : 1;
    cut = Math.max(cut, frame.part.bodyStart);
    // Innermost first: an entity whose header ran into the delimiter keeps its
    // last line break, and the entities around it must reach as far.
    let reach = cut;
    while (this.open.length > frame.openIndex + 1) {
      const part = this.open.pop()!;
      reach = Math.max(reach, part.bodyStart);
      part.bodyEnd = reach;
    }
    while (this.frames[this.frames.length - 1] !== frame) this.popFrame();
    if (close) {
      this.popFrame();
      return;
    }
    if (this.parts >= MAX_MIME_PARTS) {
      this.truncated = true;
      while (this.frames.length > 0) this.popFrame();
      return;
    }
    const number = frame.children.length + 1;
    const section = frame.part.section === '' ? String(number) : `${frame.part.section}.${number}`;
    const defaultType = frame.part.subtype === 'digest' ? 'message/rfc822' : 'text/plain';
    frame.children.push(this.openEntity(next, section, section, defaultType).part);
  }

  private popFrame(): void {
    const frame = this.frames.pop()!;
    if (frame.shadowed) this.active.set(frame.boundary, frame.shadowed);
    else this.active.delete(frame.boundary);
  }

  /**
   * Reads an entity's header from `start` and registers what its body holds.
   * `leafSection` is its number if it is not multipart, `multipartSection` if it is.
   */
  private openEntity(
    start: number,
    leafSection: string,
    multipartSection: string,
    defaultType: string,
  ): { part: MimePart; headers: HeaderField[] } {
    this.parts += 1;
    const depth = this.open.length;
    const headerEnd = this.scanHeader(start);
    const headers = parseHeaderFields(this.raw.subarray(start, headerEnd.fieldsEnd));
    const part = this.describe(headers, start, headerEnd.bodyStart, defaultType, leafSection);
    this.open.push(part);
    this.pos = headerEnd.bodyStart;

    const boundary = part.params.boundary;
    const nests = (part.type === 'multipart' && boundary !== undefined && boundary !== '') || isEncapsulated(part);
    if (nests && (depth >= MAX_MIME_DEPTH || this.parts >= MAX_MIME_PARTS)) {
      this.truncated = true;
    } else if (part.type === 'multipart' && boundary) {
      part.section = multipartSection;
      const children: MimePart[] = [];
      part.children = children;
      const frame: Frame = {
        part,
        children,
        boundary,
        openIndex: this.open.length - 1,
        shadowed: this.active.get(boundary),
      };
      this.frames.push(frame);
      this.active.set(boundary, frame);
    } else if (nests) {
      const inner = leafSection === '' ? '1' : `${leafSection}.1`;
      part.message = this.openEntity(part.bodyStart, inner, leafSection, 'text/plain').part;
    }
    return { part, headers };
  }

  /**
   * Finds where a header ends: at its blank line, or, in broken mail, at a
   * delimiter of an enclosing multipart or the end of the data.
   */
  private scanHeader(start: number): { fieldsEnd: number; bodyStart: number } {
    const { raw } = this;
    // Headers are small: look for their end near the start first, so that a
    // large body is not scanned here and then again for delimiters.
    const near = blankLine(raw, start, Math.min(raw.length, start + HEADER_WINDOW));
    if (near !== null) {
      const delimiter = this.delimiterBefore(start, near.fieldsEnd);
      return delimiter < 0 ? near : { fieldsEnd: delimiter, bodyStart: delimiter };
    }
    // A header can only run to the next delimiter of an enclosing multipart.
    const limit = this.delimiterBefore(start, raw.length);
    const end = limit < 0 ? raw.length : limit;
    return blankLine(raw, start, end) ?? { fieldsEnd: end, bodyStart: end };
  }

  /** The first delimiter line of an active boundary in [from, to), or -1. */
  private delimiterBefore(from: number, to: number): number {
    if (this.active.size === 0) return -1;
    const { raw } = this;
    let lineStart = raw[from] === DASH && raw[from + 1] === DASH ? from : this.nextDashLine(from);
    while (lineStart >= 0 && lineStart < to) {
      if (this.delimiterAt(lineStart, this.lineEnd(lineStart).end)) return lineStart;
      lineStart = this.nextDashLine(lineStart);
    }
    return -1;
  }

  private describe(
    headers: HeaderField[],
    headerStart: number,
    bodyStart: number,
    defaultType: string,
    section: string,
  ): MimePart {
    const typeHeader = firstHeader(headers, 'content-type');
    let mediaType = typeHeader === undefined ? null : parseMediaType(typeHeader);
    if (mediaType === null || mediaType.type === '' || mediaType.subtype === '') {
      // An unreadable Content-Type is read as the default (RFC 2045 §5.2).
      const slash = defaultType.indexOf('/');
      mediaType = { type: defaultType.slice(0, slash), subtype: defaultType.slice(slash + 1), params: [] };
    }
    const params = decodeParams(mediaType.params);
    const dispositionHeader = firstHeader(headers, 'content-disposition');
    const disposition = dispositionHeader === undefined ? null : parseDispositionValue(dispositionHeader);
    const dispositionParams = disposition === null ? NO_PARAMS : decodeParams(disposition.params);
    const filename = dispositionParams.filename ?? params.name ?? null;
    return {
      section,
      headerStart,
      bodyStart,
      bodyEnd: bodyStart,
      type: token(mediaType.type.toLowerCase()),
      subtype: token(mediaType.subtype.toLowerCase()),
      params,
      encoding: token((firstHeader(headers, 'content-transfer-encoding') ?? '7bit').trim().toLowerCase() || '7bit'),
      disposition: disposition?.disposition ? token(disposition.disposition.toLowerCase()) : null,
      dispositionParams,
      filename: filename === null || filename === '' ? null : filename,
      contentId: contentIdOf(firstHeader(headers, 'content-id')),
      children: NO_PARTS,
      message: null,
    };
  }
}

/**
 * A message/rfc822 part holds a message (RFC 2046 §5.2.1). It is parsed into
 * even when transfer-encoded, against §5.2.1's rule, as Dovecot does: the
 * encoded text then reads as a header without fields and an empty body.
 */
function isEncapsulated(part: MimePart): boolean {
  return part.type === 'message' && (part.subtype === 'rfc822' || part.subtype === 'global');
}
