import type { MimePart } from '../../mime/part-index.js';
import type { ImapMessage } from '../message.js';
import { casemap } from './casemap.js';
import { decodeHeaderValue } from './encoded-words.js';
import { asciiLower } from '../../match/ascii-lower.js';
import { headerLines, type HeaderLine } from './header-lines.js';
import { MessageGone } from './message-facts.js';
import { Rfc822Cursor } from './rfc822-cursor.js';
import { charsetText, decodeBase64, decodeQuotedPrintable } from './transfer-decoding.js';

/**
 * The text BODY and TEXT search (RFC 3501 §6.4.4), per MIME entity and
 * casemapped, as Dovecot (without a full-text index) searches it:
 *
 * - every entity's header (the message's, each part's, each encapsulated
 *   message's) as `NAME: value` lines, encoded words decoded; TEXT only;
 * - the body of each entity whose Content-Type is text/* or message/* (or
 *   missing), with its transfer encoding and charset undone; HTML is searched
 *   as it is, markup included; an unknown transfer encoding hides the body.
 *
 * A match never spans two entities: Dovecot restarts its matcher at each one.
 */
export interface EntityText {
  /** The header lines, each ending in CRLF, then the CRLF of the empty line. */
  readonly head: string;
  readonly body: string;
}

const texts = new WeakMap<Buffer, readonly EntityText[]>();
/** Text kept per message at most; a bigger message is decoded again for each search instead. */
const MAX_KEPT_CHARS = 1 << 20;

/** Worked out on the first BODY or TEXT search, then kept with the message's bytes. */
export function entityTexts(message: ImapMessage): readonly EntityText[] {
  const { raw, digest } = message;
  if (raw === null || digest === null) throw new MessageGone();
  let found = texts.get(raw);
  if (found === undefined) {
    found = readEntities(raw, digest.root);
    let chars = 0;
    for (const { head, body } of found) chars += head.length + body.length;
    if (chars <= MAX_KEPT_CHARS) texts.set(raw, found);
  }
  return found;
}

function readEntities(raw: Buffer, root: MimePart): EntityText[] {
  const out: EntityText[] = [];
  // Document order, without recursion: the part tree can be 100 levels deep.
  const stack: MimePart[] = [root];
  while (stack.length > 0) {
    const part = stack.pop()!;
    const fields = headerLines(raw, part.headerStart, part.bodyStart);
    out.push({ head: headText(fields), body: bodyText(raw, part, fields) });
    if (part.message) stack.push(part.message);
    for (let i = part.children.length - 1; i >= 0; i--) stack.push(part.children[i]!);
  }
  return out;
}

function headText(fields: readonly HeaderLine[]): string {
  let text = '';
  for (const field of fields) {
    text += `${casemap(Buffer.from(field.name, 'latin1').toString('utf8'))}${field.middle}${casemap(decodeHeaderValue(field.value))}\r\n`;
  }
  return `${text}\r\n`;
}

/** The value of the last field with this name: the one Dovecot's search acts on for these two. */
function lastValue(fields: readonly HeaderLine[], lowerName: string): string | undefined {
  let value: string | undefined;
  for (const field of fields) if (asciiLower(field.name) === lowerName) value = field.value;
  return value;
}

/** Whether a Content-Type value starts with a text/* or message/* type. */
function isTextual(value: string): boolean {
  const cursor = new Rfc822Cursor(value);
  cursor.skipSpace();
  const type = asciiLower(cursor.token());
  if ((type !== 'text' && type !== 'message') || cursor.peek() !== '/') return false;
  cursor.pos++;
  cursor.skipSpace();
  return cursor.token() !== '';
}

type Encoding = 'identity' | 'base64' | 'quoted-printable' | 'unknown';

function transferEncoding(value: string | undefined): Encoding {
  if (value === undefined) return 'identity';
  const cursor = new Rfc822Cursor(value);
  cursor.skipSpace();
  switch (asciiLower(cursor.token())) {
    case '7bit':
    case '8bit':
    case 'binary':
      return 'identity';
    case 'base64':
      return 'base64';
    case 'quoted-printable':
      return 'quoted-printable';
    default:
      return 'unknown';
  }
}

/** Where the body's own text ends: a multipart's preamble ends at its first delimiter line. */
function ownBodyEnd(raw: Buffer, part: MimePart): number {
  const first = part.children[0];
  if (first === undefined) return part.bodyEnd;
  // The first child starts after "--boundary" and its line break; the break before the delimiter is not text either.
  let lineStart = raw.lastIndexOf(0x0a, first.headerStart - 2) + 1;
  if (lineStart > part.bodyStart && raw[lineStart - 1] === 0x0a) lineStart -= lineStart - 2 >= part.bodyStart && raw[lineStart - 2] === 0x0d ? 2 : 1;
  return Math.max(part.bodyStart, lineStart);
}

function bodyText(raw: Buffer, part: MimePart, fields: readonly HeaderLine[]): string {
  // An encapsulated message is searched as an entity of its own.
  if (part.message) return '';
  const contentType = lastValue(fields, 'content-type');
  if (contentType !== undefined && !isTextual(contentType)) return '';
  const encoding = transferEncoding(lastValue(fields, 'content-transfer-encoding'));
  if (encoding === 'unknown') return '';
  const encoded = raw.subarray(part.bodyStart, ownBodyEnd(raw, part));
  if (encoded.length === 0) return '';
  const bytes = encoding === 'base64' ? decodeBase64(encoded) : encoding === 'quoted-printable' ? decodeQuotedPrintable(encoded) : encoded;
  return casemap(charsetText(bytes, part.params.charset));
}
