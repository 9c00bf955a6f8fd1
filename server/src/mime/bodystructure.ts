import { contentFields, noContentFields, rawHeaderFields, type ContentFields, type Param } from './content-fields.js';
import { imapEnvelope } from './envelope.js';
import { imapNString, imapNStringNoLf } from './imap-string.js';
import type { MimePart } from './part-index.js';

/**
 * IMAP BODY and BODYSTRUCTURE (RFC 3501 §7.4.2) from the part index, as byte
 * strings (one char per byte) ready for the wire. Field by field they follow
 * what Dovecot prints, the reference our tests compare with: values are kept
 * as written, text parts default to charset us-ascii, and BODYSTRUCTURE always
 * carries the four extension fields, NIL when absent.
 */

const LF = 0x0a;
const CR = 0x0d;

const EMPTY_TEXT_FIELDS: ContentFields = noContentFields();

const NO_ENVELOPE = '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)';

function quote(text: string): string {
  return imapNString(text);
}

function paramList(params: readonly Param[], defaultCharset: boolean): string {
  const items: string[] = [];
  let charset = false;
  for (const { name, value } of params) {
    if (name.toLowerCase() === 'charset') charset = true;
    items.push(quote(name), quote(value));
  }
  if (defaultCharset && !charset) items.push('"charset"', '"us-ascii"');
  return items.length === 0 ? 'NIL' : `(${items.join(' ')})`;
}

function dispositionOf(fields: ContentFields): string {
  if (fields.disposition === null) return 'NIL';
  return `(${quote(fields.disposition)} ${paramList(fields.dispositionParams, false)})`;
}

function extensionTail(fields: ContentFields): string {
  const language = fields.language === null ? 'NIL' : `(${fields.language.map(quote).join(' ')})`;
  return ` ${dispositionOf(fields)} ${language} ${imapNStringNoLf(fields.location)}`;
}

/** Octets as sent on the wire, where every bare LF goes out as CRLF, and the line count. */
function measure(raw: Buffer, start: number, end: number): { size: number; lines: number } {
  let lines = 0;
  let bare = 0;
  for (let i = raw.indexOf(LF, start); i >= 0 && i < end; i = raw.indexOf(LF, i + 1)) {
    lines += 1;
    if (i === start || raw[i - 1] !== CR) bare += 1;
  }
  return { size: end - start + bare, lines };
}

/** A MIME-Version field marks a message as MIME; without one its Content-* fields are ignored (RFC 2045 §4). */
function isMime(block: string): boolean {
  return rawHeaderFields(block).some((field) => field.name.toLowerCase() === 'mime-version');
}

class Writer {
  constructor(
    private readonly raw: Buffer,
    private readonly extended: boolean,
  ) {}

  /** A message (top level or encapsulated): its Content-* fields count only when it declares MIME. */
  message(entity: MimePart): string {
    const block = this.raw.toString('latin1', entity.headerStart, entity.bodyStart);
    return this.part(entity, isMime(block) ? contentFields(block) : EMPTY_TEXT_FIELDS);
  }

  private child(part: MimePart): string {
    return this.part(part, contentFields(this.raw.toString('latin1', part.headerStart, part.bodyStart)));
  }

  private part(part: MimePart, fields: ContentFields): string {
    if (part.type === 'multipart' && part.children.length > 0) return this.multipart(part, fields);
    // A multipart without a usable boundary still is one, with no parts (RFC 2046 §5.1.1 requires the parameter).
    if (part.type === 'multipart') return this.emptyMultipart(fields);
    return this.leaf(part, fields);
  }

  private multipart(part: MimePart, fields: ContentFields): string {
    let out = part.children.map((child) => `(${this.child(child)})`).join('');
    out += ` ${fields.subtype === null ? '"x-unknown"' : quote(fields.subtype)}`;
    if (this.extended) out += ` ${paramList(fields.params, false)}${extensionTail(fields)}`;
    return out;
  }

  /** What a multipart without parts, or an encoded message/rfc822, holds: one empty text part. */
  private emptyText(): string {
    return `("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0${this.extended ? ' NIL NIL NIL NIL' : ''})`;
  }

  private emptyMultipart(fields: ContentFields): string {
    let out = `${this.emptyText()} ${fields.subtype === null ? '"x-unknown"' : quote(fields.subtype)}`;
    if (this.extended) out += ` ${paramList(fields.params, false)}${extensionTail(fields)}`;
    return out;
  }

  private leaf(part: MimePart, fields: ContentFields): string {
    const rfc822 = part.type === 'message' && part.subtype === 'rfc822';
    const text = !rfc822 && (fields.type === null || fields.type.toLowerCase() === 'text');
    let out: string;
    if (rfc822) out = '"message" "rfc822"';
    else {
      const subtype = fields.subtype ?? (text ? 'plain' : 'unknown');
      out = `${quote(fields.type ?? 'text')} ${quote(subtype)}`;
    }
    const { size, lines } = measure(this.raw, part.bodyStart, part.bodyEnd);
    out += ` ${paramList(fields.params, text)}`;
    // Values taken from whole header fields lose any stray line break, as in Dovecot.
    out += ` ${imapNStringNoLf(fields.id)} ${imapNStringNoLf(fields.description)}`;
    out += ` ${fields.encoding === null ? '"7bit"' : quote(fields.encoding)} ${size}`;
    if (text) out += ` ${lines}`;
    if (rfc822) {
      const inner = part.message;
      if (inner) out += ` ${imapEnvelope(this.raw, inner.headerStart, inner.bodyStart)} (${this.message(inner)})`;
      else out += ` ${NO_ENVELOPE} ${this.emptyText()}`;
      out += ` ${lines}`;
    }
    if (this.extended) out += ` ${fields.md5 === null ? 'NIL' : quote(fields.md5)}${extensionTail(fields)}`;
    return out;
  }
}

/** BODYSTRUCTURE (extended) or BODY (basic) of a whole message, without the surrounding parentheses. */
export function imapBodyStructure(raw: Buffer, root: MimePart, extended: boolean): string {
  return new Writer(raw, extended).message(root);
}
