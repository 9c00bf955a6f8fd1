import { Parser } from 'htmlparser2';
import { partBody, partText } from '../mime/decode.js';
import { findPart } from '../mime/find-part.js';
import { replaceCidLinks } from '../mime/cid-links.js';
import { bodyParts } from '../mime/links.js';
import type { Address } from '../mime/digest.js';
import type { StoredMessage } from '../store/types.js';

/**
 * What the file may load: nothing from the network and no script; images,
 * media and fonts only from data: URIs (the inlined cid: parts), styles only
 * inline; no form submission and no <base>. `sandbox` and `frame-ancestors`
 * do not work from a meta element, and no directive stops a meta refresh:
 * inertHtml() removes those.
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

/** Elements the HTML parser never opens for content, so they get no end tag. */
const VOID_ELEMENTS = new Set([
  'area', 'base', 'basefont', 'bgsound', 'br', 'col', 'command', 'embed', 'frame', 'hr', 'image', 'img', 'input', 'isindex',
  'keygen', 'link', 'meta', 'param', 'source', 'track', 'wbr',
]);
/** Attributes that make a button or input submit a form somewhere of their own. */
const FORM_SUBMISSION_ATTRIBUTES = new Set(['formaction', 'formmethod', 'formenctype', 'formtarget', 'formnovalidate']);
/** Names written back only when no browser can read them as anything but one name. */
const TAG_NAME = /^[a-z][a-z0-9._:-]*$/;
const ATTRIBUTE_NAME = /^[^\s"'<>/=\x00-\x1f\x7f]+$/;

function escapeText(text: string): string {
  return text.replace(/[&<>]/g, (char) => ESCAPES[char]!);
}

function keepElement(name: string, attribs: Record<string, string>): boolean {
  if (name === 'script' || name === 'form' || name === 'base' || !TAG_NAME.test(name)) return false;
  return !(name === 'meta' && (attribs['http-equiv'] ?? '').toLowerCase().includes('refresh'));
}

/** An element's start tag written back with its attributes quoted and escaped (form submission attributes left out). */
export function startTag(name: string, attribs: Record<string, string>): string {
  let tag = `<${name}`;
  for (const [attribute, value] of Object.entries(attribs)) {
    if (ATTRIBUTE_NAME.test(attribute) && !FORM_SUBMISSION_ATTRIBUTES.has(attribute)) tag += ` ${attribute}="${escapeHtml(value)}"`;
  }
  return `${tag}>`;
}

/**
 * HTML that cannot leave the page by itself: every <meta http-equiv=refresh>
 * (which no CSP directive stops), <form> (its content kept), form-submitting
 * attribute, <base> and <script> removed, wherever they stand (inside
 * <noscript>, <template>, <svg>).
 *
 * The document is written back from what htmlparser2 read, not patched: text
 * escaped, attributes quoted, comments, CDATA, doctypes and processing
 * instructions dropped, and "<" in <style> written as a CSS escape. So a
 * browser finds exactly the elements htmlparser2 found, even where the two
 * would read the original differently (`<![CDATA[>` is a comment to a
 * browser; <style> inside <svg> holds markup).
 */
export function inertHtml(html: string): string {
  const out: string[] = [];
  const open: { name: string; kept: boolean }[] = [];
  let inScript = 0;
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        const kept = inScript === 0 && keepElement(name, attribs);
        open.push({ name, kept });
        if (name === 'script') inScript += 1;
        if (kept) out.push(startTag(name, attribs));
      },
      onclosetag() {
        const element = open.pop();
        if (element === undefined) return;
        if (element.name === 'script') inScript -= 1;
        if (element.kept && !VOID_ELEMENTS.has(element.name)) out.push(`</${element.name}>`);
      },
      ontext(text) {
        if (inScript > 0) return;
        out.push(open.at(-1)?.name === 'style' ? text.replace(/</g, '\\3C ') : escapeText(text));
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.end(html);
  return out.join('');
}

/**
 * A file that shows the message offline as it looked: a UTF-8 byte order mark
 * (so no later meta tag can change the encoding), a Content-Security-Policy
 * that blocks script and every remote load, a block with From, To, Subject
 * and Date, then the message's HTML with its cid: images inlined, made
 * inert. Browsers ignore the message's own <html>, <head> and <body> tags
 * here, and keep their attributes and styles.
 */
export function standaloneHtml(message: StoredMessage): string | null {
  const inlined = inlinedHtml(message);
  if (inlined === null) return null;
  const body = inertHtml(inlined);
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
