import { partBody, partText } from '../mime/decode.js';
import { findPart } from '../mime/find-part.js';
import { replaceCidLinks } from '../mime/cid-links.js';
import { bodyParts } from '../mime/links.js';
import type { Address } from '../mime/digest.js';
import type { StoredMessage } from '../store/types.js';

/**
 * What the file may load: nothing from the network and no script; images,
 * media and fonts only from data: URIs (the inlined cid: parts), styles only
 * inline. `sandbox` and `frame-ancestors` do not work from a meta element.
 */
export const STANDALONE_CSP =
  "default-src 'none'; img-src data:; media-src data:; font-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

function formatAddress(address: Address): string {
  return address.name === '' ? address.address : `${address.name} <${address.address}>`;
}

/** A safe media type for a data: URI, or a neutral one. */
function dataType(contentType: string): string {
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i.test(contentType) ? contentType.toLowerCase() : 'application/octet-stream';
}

/**
 * The message's HTML body (its text/html body parts, decoded, joined) with each
 * cid: reference (RFC 2392) replaced by a data: URI of the part it names; null
 * when the message has no HTML body.
 */
export function inlinedHtml(message: StoredMessage): string | null {
  const { raw, digest } = message;
  const html = bodyParts(digest.root).filter((p) => p.subtype === 'html');
  if (html.length === 0) return null;
  const text = html.map((part) => partText(raw, part)).join('\n');
  const uris = new Map<string, string | null>();
  return replaceCidLinks(text, digest.attachments, (partId) => {
    if (!uris.has(partId)) {
      const part = findPart(digest.root, partId);
      uris.set(partId, part ? `data:${dataType(`${part.type}/${part.subtype}`)};base64,${partBody(raw, part).toString('base64')}` : null);
    }
    return uris.get(partId)!;
  });
}

/**
 * A file that shows the message offline as it looked: a UTF-8 byte order mark
 * (so no later meta tag can change the encoding), a Content-Security-Policy
 * that blocks script and every remote load, a block with From, To, Subject
 * and Date, then the message's HTML with its cid: images inlined. Browsers
 * ignore the message's own <html>, <head> and <body> tags here, and keep
 * their attributes and styles.
 */
export function standaloneHtml(message: StoredMessage): string | null {
  const body = inlinedHtml(message);
  if (body === null) return null;
  const { digest } = message;
  const date = new Date(digest.date ?? message.receivedAt).toISOString();
  const rows: [string, string][] = [
    ['From', digest.from ? formatAddress(digest.from) : ''],
    ['To', digest.to.map(formatAddress).join(', ')],
    ['Subject', digest.subject],
    ['Date', date],
  ];
  const header = rows.map(([name, value]) => `<div><b>${name}:</b> ${escapeHtml(value)}</div>`).join('\n');
  return [
    '\uFEFF<!DOCTYPE html>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(STANDALONE_CSP)}">`,
    '<meta name="referrer" content="no-referrer">',
    `<title>${escapeHtml(digest.subject)}</title>`,
    '<div id="mailroom-headers" style="font:13px/1.4 system-ui,sans-serif;color:#222;background:#f3f3f3;border-bottom:1px solid #ccc;padding:8px 12px;margin:0 0 12px">',
    header,
    '</div>',
    body,
    '',
  ].join('\n');
}
