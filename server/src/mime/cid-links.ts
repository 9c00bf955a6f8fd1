import type { AttachmentInfo } from './digest.js';

/**
 * Rewrites each `cid:` reference (RFC 2392) in HTML that names one of the
 * message's parts to what `target` gives for that part; references to no
 * part, or for which `target` gives null, stay as written. Content-IDs match
 * case-insensitively, URL escapes decoded.
 */
export function replaceCidLinks(html: string, attachments: readonly AttachmentInfo[], target: (partId: string) => string | null): string {
  const byContentId = new Map<string, string>();
  for (const a of attachments) if (a.contentId !== null) byContentId.set(a.contentId.toLowerCase(), a.partId);
  if (byContentId.size === 0) return html;
  return html.replace(/cid:([^\s"'<>)]+)/gi, (whole, id: string) => {
    let contentId = id;
    try {
      contentId = decodeURIComponent(id);
    } catch {
      // A malformed escape is matched as written.
    }
    const partId = byContentId.get(contentId.toLowerCase());
    return partId === undefined ? whole : (target(partId) ?? whole);
  });
}
