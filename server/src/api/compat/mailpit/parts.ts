import { partText } from '../../../mime/decode.js';
import { htmlText } from '../../../mime/links.js';
import type { MimePart } from '../../../mime/part-index.js';

/**
 * A message's parts as Mailpit sees them through enmime (jhillyerd/enmime v2), read from
 * Mailroom's own part index so nothing is parsed twice.
 *
 * Part ids: enmime numbers a multipart's children before it renames the multipart itself to
 * `<n>.0`, so every leaf below the top multipart has the id IMAP gives it (`1`, `1.2`, `2.1.3`).
 * They differ in three places: the top entity is `0` in enmime (a single-part message's body is
 * `1` in IMAP); a nested multipart is `<n>.0` (IMAP: `<n>`); and enmime does not open an attached
 * message/rfc822, which is one part to it (IMAP numbers its insides `2.1`…). Only leaves are ever
 * named in Mailpit's API, so the first two never show; the third means Mailpit's API cannot
 * reach inside a forwarded message, and neither can this one.
 */
export interface EnmimePart {
  part: MimePart;
  partId: string;
  /** Media type without parameters, lower case. */
  contentType: string;
  /** Content-Disposition without parameters, lower case; '' when absent. */
  disposition: string;
  fileName: string;
  contentId: string;
}

export interface EnmimeView {
  /** enmime's Envelope.Attachments: disposition attachment, or application/octet-stream. */
  attachments: EnmimePart[];
  /** Envelope.Inlines: disposition inline, not multipart. */
  inlines: EnmimePart[];
  /** Envelope.OtherParts: no disposition, neither text/plain, text/html nor octet-stream (cid: images sent without one). */
  others: EnmimePart[];
  /** The parts Envelope.Text is read from, joined by "\n--\n". */
  textParts: MimePart[];
  htmlPart: MimePart | null;
}

/** Go's url.QueryUnescape, which enmime applies to Content-IDs; a malformed escape leaves the value as it was. */
function queryUnescape(value: string): string {
  if (!value.includes('%') && !value.includes('+')) return value;
  const bytes: number[] = [];
  const utf8 = Buffer.from(value, 'utf8');
  for (let i = 0; i < utf8.length; i++) {
    const byte = utf8[i]!;
    if (byte === 0x2b) bytes.push(0x20);
    else if (byte !== 0x25) bytes.push(byte);
    else {
      const hex = utf8.toString('latin1', i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return value;
      bytes.push(parseInt(hex, 16));
      i += 2;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function describe(part: MimePart, partId: string): EnmimePart {
  return {
    part,
    partId,
    contentType: `${part.type}/${part.subtype}`,
    disposition: part.disposition ?? '',
    fileName: part.filename ?? part.params.file ?? '',
    contentId: part.contentId === null ? '' : queryUnescape(part.contentId.replace(/^<+/, '').replace(/>+$/, '')),
  };
}

const isMultipart = (part: MimePart): boolean => part.type === 'multipart' && part.children.length > 0;

/** Every part enmime has, in the order of its breadth-first matchers. */
function breadthFirst(root: MimePart): EnmimePart[] {
  const nodes = [describe(root, '0')];
  for (let i = 0; i < nodes.length; i++) {
    const { part } = nodes[i]!;
    if (!isMultipart(part)) continue;
    for (const child of part.children) nodes.push(describe(child, isMultipart(child) ? `${child.section}.0` : child.section));
  }
  return nodes;
}

/** Pre-order, as enmime's depth-first matchers walk. */
function* depthFirst(part: MimePart): Generator<MimePart> {
  yield part;
  if (isMultipart(part)) for (const child of part.children) yield* depthFirst(child);
}

const isBodyText = (part: MimePart, subtype: 'plain' | 'html'): boolean =>
  part.type === 'text' && part.subtype === subtype && part.disposition !== 'attachment';

export function enmimeView(root: MimePart): EnmimeView {
  if (!isMultipart(root)) {
    const top = describe(root, '0');
    const textBody = (root.subtype === 'plain' || root.subtype === 'html') && root.type === 'text' && top.disposition !== 'attachment';
    if (textBody) return { attachments: [], inlines: [], others: [], textParts: root.subtype === 'plain' ? [root] : [], htmlPart: root.subtype === 'html' ? root : null };
    return { attachments: top.disposition === 'inline' ? [] : [top], inlines: top.disposition === 'inline' ? [top] : [], others: [], textParts: [], htmlPart: null };
  }
  const nodes = breadthFirst(root);
  let textParts: MimePart[];
  if (root.subtype === 'alternative') {
    const first = nodes.find((n) => isBodyText(n.part, 'plain'));
    textParts = first ? [first.part] : [];
  } else {
    textParts = [...depthFirst(root)].filter((p) => isBodyText(p, 'plain'));
  }
  let htmlPart: MimePart | null = null;
  for (const part of depthFirst(root)) {
    if (isBodyText(part, 'html')) {
      htmlPart = part;
      break;
    }
  }
  return {
    attachments: nodes.filter((n) => n.disposition === 'attachment' || n.contentType === 'application/octet-stream'),
    inlines: nodes.filter((n) => n.disposition === 'inline' && n.part.type !== 'multipart'),
    others: nodes.filter(
      (n) =>
        n.part.type !== 'multipart' &&
        n.disposition === '' &&
        n.contentType !== 'application/octet-stream' &&
        n.contentType !== 'text/plain' &&
        n.contentType !== 'text/html',
    ),
    textParts,
    htmlPart,
  };
}

/** The part Mailpit serves for a PartID: any of the three lists, listed or not in the message's JSON. */
export function findEnmimePart(view: EnmimeView, partId: string): EnmimePart | null {
  for (const list of [view.inlines, view.others, view.attachments]) {
    const found = list.find((p) => p.partId === partId);
    if (found) return found;
  }
  return null;
}

/** What Mailpit's message JSON lists: parts with a file name or a Content-ID. */
export const listed = (parts: EnmimePart[]): EnmimePart[] => parts.filter((p) => p.fileName !== '' || p.contentId !== '');

/**
 * Envelope.Text and Envelope.HTML. When there is HTML and no text, enmime writes text from the
 * HTML with inbucket/html2text; Mailroom's reading of the visible text stands in for it.
 */
export function enmimeBodies(raw: Buffer, view: EnmimeView): { text: string; html: string } {
  const html = view.htmlPart === null ? '' : partText(raw, view.htmlPart);
  const text = view.textParts.map((part) => partText(raw, part)).join('\n--\n');
  return { text: text === '' && html !== '' ? htmlText(html).trim() : text, html };
}
