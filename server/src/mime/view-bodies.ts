import { parse as parsePath } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import libmime from 'libmime';
import { decode as decodeWithCharset } from 'libmime/lib/charset';
import libqp from 'libqp';
import { simpleParser, type SimpleParserOptions } from 'mailparser';
import { firstHeader, parseHeaderFields, type HeaderField } from './headers.js';
import { MAX_MIME_PARTS, type MimePart } from './part-index.js';

/** What the message view asks of mailparser, here and in message-view.ts. */
export const VIEW_PARSER_OPTIONS: SimpleParserOptions = {
  keepCidLinks: true,
  skipTextToHtml: true,
  skipTextLinks: true,
  skipImageLinks: true,
  // Its splitter gives up past 1,000 parts by default; the index stops at this many.
  maxChildNodes: MAX_MIME_PARTS,
};

export interface ViewBodies {
  text: string | null;
  html: string | null;
}

/** Parts mailparser reads as text when they are not attachments. */
const TEXT_TYPES = new Set(['text/plain', 'text/html', 'message/delivery-status']);

/** A leaf as mailparser's splitter sees it, from its first Content-Type and Content-Disposition fields. */
interface LeafFields {
  contentType: string;
  disposition: string;
  charset: string | undefined;
  flowed: boolean;
  delSp: boolean;
}

/** One thing the view shows, in tree order. */
type Piece =
  | { kind: 'meta'; part: MimePart }
  | { kind: 'body'; part: MimePart; fields: LeafFields; alternative: boolean; root: boolean; bodyEnd: number };

/** Leaves read between turns of the event loop, so a message of 10,000 parts does not stall the server. */
const LEAVES_PER_TURN = 500;

/** Where collect() stands. */
interface Context {
  /** The message's own top entity. */
  top: boolean;
  /** The top entity of a forwarded message, which opens with that message's header block. */
  forwarded: boolean;
  /** Inside a multipart/alternative. */
  alternative: boolean;
  /** Boundaries of the enclosing multiparts, nearest first. */
  boundaries: readonly string[];
}

/**
 * The view's `text` and `html` built from the part index instead of
 * mailparser's tree, for messages mailparser cannot parse (more parts than its
 * splitter takes, or an error), by mailparser 3.14's rules (MailParser
 * getTextContent): text/plain, text/html and message/delivery-status leaves
 * that are inline or have no disposition are the body; a forwarded
 * message/rfc822 part is read into only when inline and not
 * transfer-encoded, and then opens with a table of its headers; text parts
 * are joined with "\n", HTML parts with "<br/>\n"; outside
 * multipart/alternative each HTML part also adds its text rendering to
 * `text`, and each text part an empty string to `html`.
 */
export async function viewBodies(raw: Buffer, root: MimePart): Promise<ViewBodies> {
  const pieces: Piece[] = [];
  await collect(raw, root, { top: true, forwarded: false, alternative: false, boundaries: [] }, pieces, { leaves: 0 });
  let hasText = false;
  let hasHtml = false;
  for (const piece of pieces) {
    if (piece.kind !== 'body') continue;
    if (piece.fields.contentType === 'text/html') hasHtml = true;
    else hasText = true;
  }
  const text: string[] = [];
  const html: string[] = [];
  for (const piece of pieces) {
    if (piece.kind === 'meta') {
      const meta = await embeddedHeaders(raw, piece.part, hasText, hasHtml);
      if (meta.html !== null) html.push(meta.html);
      if (meta.text !== null) text.push(meta.text);
      continue;
    }
    const content = bodyText(raw, piece.part, piece.bodyEnd, piece.fields);
    if (content === '') continue;
    if (piece.fields.contentType !== 'text/html') {
      text.push(content);
      if (!piece.alternative && hasHtml) html.push('');
      continue;
    }
    if ((!piece.alternative && hasText) || (piece.root && !hasText)) text.push(await htmlToText(content));
    html.push(content);
  }
  return {
    text: text.length > 0 ? text.join('\n') : null,
    html: html.length > 0 ? html.join('<br/>\n') : null,
  };
}

async function collect(raw: Buffer, part: MimePart, context: Context, pieces: Piece[], count: { leaves: number }): Promise<void> {
  if (part.type === 'multipart') {
    if (context.forwarded) pieces.push({ kind: 'meta', part });
    const boundary = part.params.boundary;
    const inner: Context = {
      top: false,
      forwarded: false,
      alternative: context.alternative || part.subtype === 'alternative',
      boundaries: boundary === undefined ? context.boundaries : [boundary, ...context.boundaries],
    };
    for (const child of part.children) await collect(raw, child, inner, pieces, count);
    return;
  }
  if (++count.leaves % LEAVES_PER_TURN === 0) await nextTurn();
  // The index read its type from the same first Content-Type field, and falls
  // back to text/plain or message/rfc822 where mailparser may differ: any
  // other type is no body for mailparser either, and needs no second reading.
  const fields = part.type === 'text' || part.type === 'message' ? leafFields(parseHeaderFields(raw.subarray(part.headerStart, part.bodyStart)), context.top) : null;
  // Mailparser's splitter reads an inline, unencoded message/rfc822 part as a
  // message and lists any other one as an attachment. A forwarded message
  // that is itself such a part gets no header block of its own.
  if (fields?.contentType === 'message/rfc822' && fields.disposition === 'inline' && ['7bit', '8bit', 'binary'].includes(part.encoding) && part.message !== null) {
    await collect(raw, part.message, { ...context, top: false, forwarded: true }, pieces, count);
    return;
  }
  if (context.forwarded) pieces.push({ kind: 'meta', part });
  if (fields !== null && TEXT_TYPES.has(fields.contentType) && (fields.disposition === '' || fields.disposition === 'inline')) {
    const bodyEnd = splitterBodyEnd(raw, part, context.boundaries);
    pieces.push({ kind: 'body', part, fields, alternative: context.alternative, root: context.top, bodyEnd });
  }
}

/**
 * Where mailparser's splitter ends a part's body: before the line break of
 * the delimiter that follows, which the index leaves to a part whose header
 * ran into that delimiter; and after it when the body is that one empty line
 * and the delimiter is not a close-delimiter (a splitter quirk).
 */
function splitterBodyEnd(raw: Buffer, part: MimePart, boundaries: readonly string[]): number {
  let end = part.bodyEnd;
  const before = raw[end - 1] === 0x0a ? (raw[end - 2] === 0x0d ? 2 : 1) : 0;
  if (before > 0 && end - before >= part.bodyStart && delimiterAt(raw, end, boundaries) !== null) end -= before;
  if (end !== part.bodyStart) return end;
  const after = raw[end] === 0x0a ? 1 : raw[end] === 0x0d && raw[end + 1] === 0x0a ? 2 : 0;
  return after > 0 && delimiterAt(raw, end + after, boundaries) === 'next' ? end + after : end;
}

/** Whether a delimiter line starts at `start`, the nearest boundary deciding, as in the splitter. */
function delimiterAt(raw: Buffer, start: number, boundaries: readonly string[]): 'next' | 'close' | null {
  if (boundaries.length === 0 || raw[start] !== 0x2d || raw[start + 1] !== 0x2d) return null;
  const lf = raw.indexOf(0x0a, start);
  const line = raw.toString('latin1', start, lf < 0 ? raw.length : lf).replace(/[ \t\r]+$/, '');
  for (const boundary of boundaries) {
    if (line === `--${boundary}`) return 'next';
    if (line === `--${boundary}--`) return 'close';
  }
  return null;
}

function leafFields(headers: readonly HeaderField[], root: boolean): LeafFields {
  const disposition = libmime.parseHeaderValue(firstHeader(headers, 'content-disposition') ?? '', { stripComments: true });
  const typeValue = firstHeader(headers, 'content-type');
  const type = libmime.parseHeaderValue(typeValue ?? defaultType(disposition), { stripComments: true });
  const contentType = (type.value || '').toLowerCase().trim() || (root ? 'text/plain' : '');
  const flowed = contentType === 'text/plain' && type.params.format?.toLowerCase().trim() === 'flowed';
  return {
    contentType,
    disposition: (disposition.value || '').toLowerCase().trim(),
    charset: type.params.charset,
    flowed,
    delSp: flowed && type.params.delsp?.toLowerCase().trim() === 'yes',
  };
}

/** Mailparser's type for a part without Content-Type: from its file name, else by its disposition (not RFC 2046's digest default). */
function defaultType(disposition: { value: string; params: Record<string, string> }): string {
  const filename = disposition.params.filename;
  const extension = filename ? parsePath(filename).ext.slice(1) : '';
  if (extension) return libmime.detectMimeType(extension);
  return /^attachment$/i.test(disposition.value) ? 'application/octet-stream' : 'text/plain';
}

/**
 * A body part as text, as mailparser decodes it: base64 and quoted-printable
 * undone (no other transfer encoding), then format=flowed, then the charset.
 */
function bodyText(raw: Buffer, part: MimePart, bodyEnd: number, fields: LeafFields): string {
  let bytes = raw.subarray(part.bodyStart, bodyEnd);
  if (part.encoding === 'base64') bytes = decodeBase64Runs(bytes);
  else if (part.encoding === 'quoted-printable') bytes = libqp.decode(bytes.toString('latin1'));
  if (fields.flowed && bytes.length > 0) bytes = Buffer.from(libmime.decodeFlowed(bytes.toString('latin1'), fields.delSp), 'latin1');
  const charset = fields.charset || 'utf-8';
  const plain = ['ascii', 'usascii', 'utf8'].includes(charset.toLowerCase().replace(/[^a-z0-9]+/g, ''));
  return (plain ? bytes.toString('utf8') : decodeWithCharset(bytes, charset)).replace(/\r?\n/g, '\n');
}

/** Base64 as mailparser's decoder reads it: each run that padding ends decodes on its own, so mail that pads every line still reads. */
function decodeBase64Runs(encoded: Buffer): Buffer {
  const runs = encoded.toString('latin1').replace(/[^A-Za-z0-9+/=]+/g, '').split('=');
  return Buffer.concat(runs.filter((run) => run !== '').map((run) => Buffer.from(run, 'base64')));
}

/**
 * Mailparser's plain-text rendering of HTML (html-to-text with its limits),
 * asked of mailparser itself with a message that holds only that HTML; ''
 * when it fails, as mailparser gives for HTML it cannot convert.
 */
async function htmlToText(html: string): Promise<string> {
  const message = Buffer.concat([Buffer.from('Content-Type: text/html; charset=utf-8\r\n\r\n'), Buffer.from(html, 'utf8')]);
  try {
    return (await simpleParser(message, VIEW_PARSER_OPTIONS)).text ?? '';
  } catch {
    return '';
  }
}

/**
 * The From/Subject/Date/To/Cc/Bcc block mailparser puts before a forwarded
 * message's text, asked of mailparser with a message holding that header
 * alone; `hasText` and `hasHtml` are stood in for by empty parts. Its own
 * Content-Type, first so it wins, makes it a body without parts.
 */
async function embeddedHeaders(raw: Buffer, inner: MimePart, hasText: boolean, hasHtml: boolean): Promise<ViewBodies> {
  if (!hasText && !hasHtml) return { text: null, html: null };
  let fieldsEnd = inner.bodyStart;
  while (fieldsEnd > inner.headerStart && (raw[fieldsEnd - 1] === 0x0a || raw[fieldsEnd - 1] === 0x0d)) fieldsEnd -= 1;
  const fields = raw.subarray(inner.headerStart, fieldsEnd);
  let boundary = 'mailroom-meta';
  while (fields.includes(boundary)) boundary += '-';
  const message = Buffer.concat([
    Buffer.from(
      `Content-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n` +
        (hasText ? `--${boundary}\r\nContent-Type: text/plain\r\n\r\n` : '') +
        (hasHtml ? `--${boundary}\r\nContent-Type: text/html\r\n\r\n` : '') +
        `--${boundary}\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\nContent-Type: multipart/mixed\r\n`,
    ),
    fields,
    Buffer.from(fields.length > 0 ? `\r\n\r\n--${boundary}--\r\n` : `\r\n--${boundary}--\r\n`),
  ]);
  try {
    const parsed = await simpleParser(message, VIEW_PARSER_OPTIONS);
    return { text: parsed.text ?? null, html: typeof parsed.html === 'string' ? parsed.html : null };
  } catch {
    return { text: null, html: null };
  }
}
