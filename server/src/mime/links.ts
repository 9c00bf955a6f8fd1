import { Parser } from 'htmlparser2';
import { partText } from './decode.js';
import { isBodyText } from './digest.js';
import type { MimePart } from './part-index.js';

/** A link in a message body, as the API lists it. */
export interface Link {
  /** The URL as written, entities (HTML) and transfer encoding undone. */
  url: string;
  /** HTML: the anchor's visible text, white space collapsed ('' when it has none); text parts: null. */
  text: string | null;
  /** IMAP section number of the body part it was found in. */
  part: string;
  type: 'html' | 'text';
}

export interface FoundLink {
  url: string;
  text: string | null;
}

/** A URL found in plain text, with where it stands there. */
export interface TextUrl {
  url: string;
  start: number;
  end: number;
}

/**
 * The parts that are a message's readable body, in MIME order: text/plain and
 * text/html leaves that are not attachments, as the digest classifies them. A
 * forwarded message/rfc822 part is an attachment; its bodies are not read.
 */
export function bodyParts(root: MimePart): MimePart[] {
  const found: MimePart[] = [];
  const walk = (part: MimePart): void => {
    if (part.type === 'multipart') part.children.forEach(walk);
    else if (isBodyText(part)) found.push(part);
  };
  walk(root);
  return found;
}

/**
 * Every link in the message's body parts, part by part in MIME order and in
 * document order within each; duplicates are kept, so the n-th link of a
 * message is the n-th one a reader meets.
 */
export function extractLinks(raw: Buffer, root: MimePart): Link[] {
  const links: Link[] = [];
  for (const part of bodyParts(root)) {
    const content = partText(raw, part);
    if (part.subtype === 'html') {
      for (const link of htmlLinks(content)) links.push({ ...link, part: part.section, type: 'html' });
    } else {
      for (const { url } of textUrls(content)) links.push({ url, text: null, part: part.section, type: 'text' });
    }
  }
  return links;
}

/** Elements whose text is never shown. */
const HIDDEN = new Set(['script', 'style', 'title', 'template', 'noframes']);

/** Elements that break a line when rendered, so their text does not run into the next. */
const BLOCKS = new Set([
  'address', 'article', 'aside', 'blockquote', 'br', 'caption', 'center', 'dd', 'details', 'div', 'dl', 'dt',
  'fieldset', 'figcaption', 'figure', 'footer', 'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'li',
  'main', 'nav', 'ol', 'p', 'pre', 'section', 'summary', 'table', 'tbody', 'td', 'tfoot', 'th', 'thead', 'tr', 'ul',
]);

interface HtmlReading {
  links: FoundLink[];
  /** Visible text, a line break for each block boundary; empty unless asked for. */
  text: string;
}

/**
 * Reads HTML once with htmlparser2 (entities decoded the way browsers decode
 * them, `&lang=` in an attribute left alone): the href of every <a> and <area>
 * in document order with its anchor text, and, when asked, the visible text.
 */
function readHtml(html: string, wantText: boolean): HtmlReading {
  const links: FoundLink[] = [];
  const text: string[] = [];
  let hidden = 0;
  /** The <a> whose text is being gathered; an <a> start tag ends any open one, as in browsers. */
  let anchor: { link: FoundLink; words: string[] } | null = null;
  const endAnchor = (): void => {
    if (anchor) anchor.link.text = collapse(anchor.words.join(''));
    anchor = null;
  };
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        if (HIDDEN.has(name)) hidden += 1;
        if (BLOCKS.has(name)) {
          if (wantText) text.push('\n');
          anchor?.words.push(' ');
        }
        if (name === 'a') {
          endAnchor();
          const url = cleanHref(attribs.href);
          if (url !== null) {
            const link: FoundLink = { url, text: '' };
            links.push(link);
            anchor = { link, words: [] };
          }
        } else if (name === 'area') {
          const url = cleanHref(attribs.href);
          if (url !== null) links.push({ url, text: collapse(attribs.alt ?? '') });
        } else if (name === 'img' && attribs.alt) {
          // An image in a link names it, as its alt text does for a screen reader.
          anchor?.words.push(' ', attribs.alt, ' ');
        }
      },
      ontext(data) {
        if (hidden > 0) return;
        if (wantText) text.push(data);
        anchor?.words.push(data);
      },
      onclosetag(name) {
        if (HIDDEN.has(name)) hidden = Math.max(0, hidden - 1);
        if (BLOCKS.has(name)) {
          if (wantText) text.push('\n');
          anchor?.words.push(' ');
        }
        if (name === 'a') endAnchor();
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.end(html);
  endAnchor();
  return { links, text: text.join('') };
}

/** Links of an HTML document: href of <a> and <area>, in document order, with their text. */
export function htmlLinks(html: string): FoundLink[] {
  return readHtml(html, false).links;
}

/** The text a reader sees in an HTML document, block boundaries as line breaks. */
export function htmlText(html: string): string {
  return readHtml(html, true).text;
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

const isControlOrSpace = (code: number): boolean => code <= 0x20;

/**
 * An href as a browser reads it (WHATWG URL parsing): leading and trailing
 * controls and spaces dropped, tabs and line breaks anywhere removed, so a
 * URL wrapped inside its attribute still comes out whole. No href, or an
 * empty one, is no link.
 */
function cleanHref(href: string | undefined): string | null {
  if (href === undefined) return null;
  let start = 0;
  let end = href.length;
  while (start < end && isControlOrSpace(href.charCodeAt(start))) start += 1;
  while (end > start && isControlOrSpace(href.charCodeAt(end - 1))) end -= 1;
  const url = href.slice(start, end).replace(/[\t\n\r]/g, '');
  return url === '' ? null : url;
}

/** Where a URL may start: `<` (or `<URL:`) before a scheme, or a scheme at a word boundary. */
const URL_START = /<(?:URL:)?(?=https?:\/\/|mailto:)|\b(?:https?:\/\/|mailto:)/gi;
/** A bare URL runs to white space or a character URLs never hold unescaped. */
const BARE_URL = /[^\s<>"]+/y;
/** Longest URL read between angle brackets. */
const MAX_BRACKETED = 2048;
/** Trailing characters that end the sentence around a URL rather than the URL. */
const TRAILING = new Set(['.', ',', ';', ':', '!', '?', "'", '*', '_', '~', '`']);
const CLOSERS: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

/**
 * http(s) and mailto URLs in plain text, in order. `<https://...>` (RFC 3986
 * Appendix C) is read to its `>`, with line breaks inside the brackets (and the
 * blanks around them) removed; a space without a line break means the brackets
 * were prose, and the URL is read bare instead. A bare URL runs to white space,
 * `<`, `>` or `"`, less trailing sentence punctuation (`.,;:!?'*_~` and
 * backtick) and any closing bracket that has no opening one in the URL, so
 * `(see https://x.test/a).` gives `https://x.test/a` while
 * `https://x.test/Foo_(bar)` stays whole.
 */
export function textUrls(text: string): TextUrl[] {
  const found: TextUrl[] = [];
  const starts = new RegExp(URL_START.source, URL_START.flags);
  for (let match = starts.exec(text); match !== null; match = starts.exec(text)) {
    const at = match.index;
    if (match[0].startsWith('<')) {
      const contentStart = at + match[0].length;
      const bracketed = readBracketed(text, contentStart);
      if (bracketed !== null) {
        found.push({ url: bracketed.url, start: at, end: bracketed.end });
        starts.lastIndex = bracketed.end;
      } else {
        starts.lastIndex = contentStart;
      }
      continue;
    }
    BARE_URL.lastIndex = at;
    const written = BARE_URL.exec(text)![0];
    const url = trimTrailing(written);
    if (hasTarget(url)) found.push({ url, start: at, end: at + url.length });
    starts.lastIndex = at + written.length;
  }
  return found;
}

function readBracketed(text: string, contentStart: number): { url: string; end: number } | null {
  const window = text.slice(contentStart, contentStart + MAX_BRACKETED + 1);
  const close = window.indexOf('>');
  if (close < 0) return null;
  const inner = window.slice(0, close);
  if (inner.includes('<') || inner.includes('"')) return null;
  for (const blank of inner.match(/\s+/g) ?? []) if (!blank.includes('\n')) return null;
  const url = inner.replace(/\s+/g, '');
  return hasTarget(url) ? { url, end: contentStart + close + 1 } : null;
}

function trimTrailing(url: string): string {
  // Bracket counts of the whole URL, kept up to date as characters are cut, so trimming stays linear.
  const counts = new Map<string, number>();
  for (const char of url) if ('()[]{}'.includes(char)) counts.set(char, (counts.get(char) ?? 0) + 1);
  let end = url.length;
  while (end > 0) {
    const last = url[end - 1]!;
    const opener = CLOSERS[last];
    if (opener !== undefined && (counts.get(opener) ?? 0) >= (counts.get(last) ?? 0)) break;
    if (opener === undefined && !TRAILING.has(last)) break;
    if (opener !== undefined) counts.set(last, counts.get(last)! - 1);
    end -= 1;
  }
  return url.slice(0, end);
}

/** A scheme alone is no link: http(s) needs a host, mailto an address. */
function hasTarget(url: string): boolean {
  return /^https?:\/\/[^/?#\s]/i.test(url) || /^mailto:\S/i.test(url);
}
