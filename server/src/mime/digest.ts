import addressparser from 'nodemailer/lib/addressparser';
import { partText } from './decode.js';
import { decodeWords, firstHeader, type HeaderField } from './headers.js';
import { indexMessage, type MimePart } from './part-index.js';

export interface Address {
  name: string;
  address: string;
}

export interface AttachmentInfo {
  partId: string;
  filename: string | null;
  contentType: string;
  /** Encoded size in bytes, as IMAP counts it; the decoded size is known only after decoding. */
  encodedSize: number;
  encoding: string;
  contentId: string | null;
  disposition: 'attachment' | 'inline';
}

/**
 * What listing and searching need, taken from a message once at ingest so
 * neither ever parses mail again.
 */
export interface MessageDigest {
  from: Address | null;
  to: Address[];
  cc: Address[];
  bcc: Address[];
  subject: string;
  /** The Date header as epoch milliseconds; null when missing or unreadable. */
  date: number | null;
  messageId: string | null;
  /** Decoded body text with white space collapsed, capped at BODY_TEXT_LIMIT characters. */
  bodyText: string;
  attachments: AttachmentInfo[];
  root: MimePart;
  truncated: boolean;
}

/** Enough text to search what people search for in test mail without doubling the store's memory. */
export const BODY_TEXT_LIMIT = 64 * 1024;
/** Text parts larger than this are decoded only in part for the digest. */
const BODY_SCAN_BYTES = 4 * BODY_TEXT_LIMIT;

export function digestMessage(raw: Buffer): MessageDigest {
  const { root, headers, truncated } = indexMessage(raw);
  const bodies: MimePart[] = [];
  const attachments: AttachmentInfo[] = [];
  classify(root, bodies, attachments);
  return {
    from: parseAddresses(firstHeader(headers, 'from'))[0] ?? null,
    to: allAddresses(headers, 'to'),
    cc: allAddresses(headers, 'cc'),
    bcc: allAddresses(headers, 'bcc'),
    subject: decodeWords(firstHeader(headers, 'subject') ?? ''),
    date: parseDate(firstHeader(headers, 'date')),
    messageId: firstHeader(headers, 'message-id')?.replace(/^<(.*)>$/s, '$1') ?? null,
    bodyText: bodyTextOf(raw, bodies),
    attachments,
    root,
    truncated,
  };
}

function allAddresses(headers: readonly HeaderField[], lowerName: string): Address[] {
  const list: Address[] = [];
  for (const field of headers) {
    if (field.name.toLowerCase() === lowerName) list.push(...parseAddresses(field.value));
  }
  return list;
}

export function parseAddresses(value: string | undefined): Address[] {
  if (!value) return [];
  return addressparser(value, { flatten: true }).map((entry) => ({
    name: decodeWords(entry.name ?? ''),
    address: entry.address ?? '',
  }));
}

function parseDate(value: string | undefined): number | null {
  if (!value) return null;
  // Date.parse reads RFC 5322 dates; comments such as "(UTC)" confuse it, so drop them first.
  const time = Date.parse(value.replace(/\([^)]*\)/g, ' ').trim());
  return Number.isNaN(time) ? null : time;
}

function isBodyText(part: MimePart): boolean {
  return (
    part.type === 'text' &&
    (part.subtype === 'plain' || part.subtype === 'html') &&
    part.disposition !== 'attachment' &&
    part.filename === null
  );
}

/**
 * Splits leaves into readable bodies and attachments. A forwarded message
 * counts as one attachment (it is downloaded whole), and its inner parts
 * are not listed again.
 */
function classify(part: MimePart, bodies: MimePart[], attachments: AttachmentInfo[]): void {
  if (part.type === 'multipart' && part.children.length > 0) {
    for (const child of part.children) classify(child, bodies, attachments);
    return;
  }
  if (part.type === 'multipart') return;
  if (isBodyText(part)) {
    bodies.push(part);
    return;
  }
  attachments.push({
    partId: part.section,
    filename: part.filename,
    contentType: `${part.type}/${part.subtype}`,
    encodedSize: part.bodyEnd - part.bodyStart,
    encoding: part.encoding,
    contentId: part.contentId,
    disposition: part.disposition === 'inline' || (part.disposition === null && part.contentId !== null) ? 'inline' : 'attachment',
  });
}

function bodyTextOf(raw: Buffer, bodies: readonly MimePart[]): string {
  const part = bodies.find((p) => p.subtype === 'plain') ?? bodies[0];
  if (!part) return '';
  const limited = { ...part, bodyEnd: Math.min(part.bodyEnd, part.bodyStart + BODY_SCAN_BYTES) };
  let text = partText(raw, limited);
  if (part.subtype === 'html') text = htmlToPlain(text);
  return text.replace(/\s+/g, ' ').trim().slice(0, BODY_TEXT_LIMIT);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
const SKIPPED_ELEMENTS = new Set(['script', 'style', 'head', 'title']);

/**
 * A rough reading of HTML for snippets and search; the full message view uses
 * mailparser. Written as a forward scan because regular expressions over
 * unterminated tags backtrack quadratically on hostile input.
 */
function htmlToPlain(html: string): string {
  const lower = html.toLowerCase();
  const out: string[] = [];
  let pos = 0;
  while (pos < html.length) {
    const lt = html.indexOf('<', pos);
    if (lt < 0) {
      out.push(html.slice(pos));
      break;
    }
    out.push(html.slice(pos, lt), ' ');
    const gt = html.indexOf('>', lt);
    if (gt < 0) break;
    pos = gt + 1;
    const name = /^<([a-z0-9]+)/.exec(lower.slice(lt, Math.min(gt, lt + 12)))?.[1];
    if (name !== undefined && SKIPPED_ELEMENTS.has(name)) {
      const close = lower.indexOf(`</${name}`, pos);
      if (close < 0) break;
      const closeEnd = html.indexOf('>', close);
      if (closeEnd < 0) break;
      pos = closeEnd + 1;
    }
  }
  return decodeEntities(out.join(''));
}

function decodeEntities(text: string): string {
  return text.replace(/&(#\d{1,7}|#x[0-9a-f]{1,6}|[a-z]{2,8});/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}
