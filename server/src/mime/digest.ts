import addressparser from 'nodemailer/lib/addressparser';
import { partText } from './decode.js';
import { decodeWords, detach, firstHeader, type HeaderField } from './headers.js';
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
  /** The first X-Tags header, decoded: tags the sender asks for (store/auto-tags.ts). */
  tagsHeader: string | null;
  /** The start of the readable text, white space collapsed. */
  snippet: string;
  /** The part searches read text from: the first text/plain body, else the first text/html. */
  textPart: MimePart | null;
  attachments: AttachmentInfo[];
  root: MimePart;
  truncated: boolean;
}

const SNIPPET_LENGTH = 200;
const NO_ATTACHMENTS: AttachmentInfo[] = [];
/**
 * Encoded bytes read for a snippet: first a little, then, when white space or
 * an HTML head full of inline CSS left too little, enough for any sane mail.
 */
const SNIPPET_SCAN_BYTES = { first: 512, most: 64 * 1024 };
/** Encoded bytes read for search text, so a huge text part cannot stall a search. */
const SEARCH_SCAN_BYTES = 256 * 1024;

export function digestMessage(raw: Buffer): MessageDigest {
  const { root, headers, truncated } = indexMessage(raw);
  const bodies: MimePart[] = [];
  const found: AttachmentInfo[] = [];
  classify(root, bodies, found);
  const attachments = found.length > 0 ? found : NO_ATTACHMENTS;
  const textPart = bodies.find((p) => p.subtype === 'plain') ?? bodies[0] ?? null;
  return {
    from: parseAddresses(firstHeader(headers, 'from'))[0] ?? null,
    to: allAddresses(headers, 'to'),
    cc: allAddresses(headers, 'cc'),
    bcc: allAddresses(headers, 'bcc'),
    subject: detach(decodeWords(firstHeader(headers, 'subject') ?? '')),
    date: parseDate(firstHeader(headers, 'date')),
    messageId: messageIdOf(firstHeader(headers, 'message-id')),
    tagsHeader: tagsHeaderOf(firstHeader(headers, 'x-tags')),
    snippet: snippetOf(raw, textPart),
    textPart,
    attachments,
    root,
    truncated,
  };
}

/** Shared by every message without such addresses, so empty lists cost nothing per message. */
const NO_ADDRESSES: Address[] = [];

function allAddresses(headers: readonly HeaderField[], lowerName: string): Address[] {
  let list = NO_ADDRESSES;
  for (const field of headers) {
    if (field.key !== lowerName) continue;
    const found = parseAddresses(field.value);
    if (found.length > 0) list = list === NO_ADDRESSES ? found : list.concat(found);
  }
  return list;
}

/** An address-list header value as addresses, names' encoded words decoded, sharing no memory with the header. */
export function parseAddresses(value: string | undefined): Address[] {
  if (!value) return [];
  return addressparser(value, { flatten: true }).map((entry) => ({
    name: detach(decodeWords(entry.name ?? '')),
    address: detach(entry.address ?? ''),
  }));
}

function messageIdOf(value: string | undefined): string | null {
  return value === undefined ? null : detach(value.replace(/^<(.*)>$/s, '$1'));
}

function tagsHeaderOf(value: string | undefined): string | null {
  return value === undefined ? null : detach(decodeWords(value));
}

function parseDate(value: string | undefined): number | null {
  if (!value) return null;
  // Date.parse reads RFC 5322 dates; comments such as "(UTC)" confuse it, so drop them first.
  const time = Date.parse(value.replace(/\([^)]*\)/g, ' ').trim());
  return Number.isNaN(time) ? null : time;
}

/** A text/plain or text/html part that is read as the body, not an attachment. */
export function isBodyText(part: MimePart): boolean {
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

/** Readable text of a body part, from at most `scanBytes` of its encoded body, white space collapsed. */
function readableText(raw: Buffer, part: MimePart, scanBytes: number): string {
  // Base64 is cut on a 4-character boundary; a cut quoted-printable escape only loses its last character.
  const limit = part.encoding === 'base64' ? scanBytes - (scanBytes % 4) : scanBytes;
  const limited = { ...part, bodyEnd: Math.min(part.bodyEnd, part.bodyStart + limit) };
  let text = partText(raw, limited);
  if (part.subtype === 'html') text = htmlToPlain(text);
  return text.replace(/\s{2,}|[^\S ]/g, ' ').trim();
}

/** The text searches match free words against; callers cache it. */
export function searchText(raw: Buffer, part: MimePart | null): string {
  return part === null ? '' : readableText(raw, part, SEARCH_SCAN_BYTES);
}

function snippetOf(raw: Buffer, part: MimePart | null): string {
  if (part === null) return '';
  // Most text fills a snippet from its first few hundred bytes; read more only when it did not.
  let text = readableText(raw, part, SNIPPET_SCAN_BYTES.first);
  if (text.length < SNIPPET_LENGTH && part.bodyEnd - part.bodyStart > SNIPPET_SCAN_BYTES.first) {
    text = readableText(raw, part, SNIPPET_SCAN_BYTES.most);
  }
  // A slice keeps its whole parent string alive; a copy keeps only the snippet in the store.
  return Buffer.from(text.slice(0, SNIPPET_LENGTH), 'utf8').toString('utf8');
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
