import { findPart } from './find-part.js';
import { decodeWords, parseHeaderFields } from './headers.js';
import type { MimePart } from './part-index.js';

export interface PartNode {
  partId: string;
  contentType: string;
  charset: string | null;
  encoding: string;
  disposition: string | null;
  filename: string | null;
  contentId: string | null;
  /** Encoded body size in bytes. */
  size: number;
  lines: number;
  headers: { name: string; value: string }[];
  children: PartNode[];
}

/**
 * The id a node answers to: its IMAP section number. The multipart that is a
 * message's whole body has none of its own (RFC 3501 §6.4.5), so it is named
 * by the section of that body: TEXT at the top, 2.TEXT inside part 2.
 */
function idOf(part: MimePart, isMessageBody: boolean): string {
  if (!isMessageBody || part.type !== 'multipart' || part.children.length === 0) return part.section;
  return part.section === '' ? 'TEXT' : `${part.section}.TEXT`;
}

function countLines(raw: Buffer, start: number, end: number): number {
  let lines = 0;
  for (let i = raw.indexOf(0x0a, start); i >= 0 && i < end; i = raw.indexOf(0x0a, i + 1)) lines += 1;
  return lines;
}

function node(raw: Buffer, part: MimePart, isMessageBody: boolean): PartNode {
  const inner = part.message;
  return {
    partId: idOf(part, isMessageBody),
    contentType: `${part.type}/${part.subtype}`,
    charset: part.params.charset ?? null,
    encoding: part.encoding,
    disposition: part.disposition,
    filename: part.filename,
    contentId: part.contentId,
    size: part.bodyEnd - part.bodyStart,
    lines: countLines(raw, part.bodyStart, part.bodyEnd),
    headers: parseHeaderFields(raw.subarray(part.headerStart, part.bodyStart)).map((field) => ({
      name: field.name,
      value: decodeWords(field.value),
    })),
    children: inner ? [node(raw, inner, true)] : part.children.map((child) => node(raw, child, false)),
  };
}

/** The whole tree, for the API and the web inbox. */
export function partTree(raw: Buffer, root: MimePart): PartNode {
  return node(raw, root, true);
}

/** The part a node id names: a section number, TEXT, or <section>.TEXT. */
export function resolvePart(root: MimePart, partId: string): MimePart | null {
  if (partId === 'TEXT') return root.type === 'multipart' && root.children.length > 0 ? root : null;
  if (partId.endsWith('.TEXT')) {
    const inner = findPart(root, partId.slice(0, -5))?.message;
    return inner && inner.type === 'multipart' && inner.children.length > 0 ? inner : null;
  }
  return findPart(root, partId);
}
