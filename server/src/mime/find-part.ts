import type { MimePart } from './part-index.js';

/** The numbered parts of a message: a multipart's children, or the body alone as part 1. */
function partsOf(entity: MimePart): readonly MimePart[] {
  return entity.type === 'multipart' && entity.children.length > 0 ? entity.children : [entity];
}

/**
 * Finds the part an IMAP section number names (RFC 3501 §6.4.5): each number
 * picks a child of a multipart, and a number after a message/rfc822 part
 * continues inside the message it encapsulates.
 */
export function findPart(root: MimePart, section: string): MimePart | null {
  if (!/^[1-9]\d{0,5}(\.[1-9]\d{0,5})*$/.test(section)) return null;
  const steps = section.split('.');
  let candidates = partsOf(root);
  for (let i = 0; ; i++) {
    const found = candidates[Number(steps[i]) - 1];
    if (found === undefined) return null;
    if (i === steps.length - 1) return found;
    if (found.message) candidates = partsOf(found.message);
    else if (found.type === 'multipart' && found.children.length > 0) candidates = found.children;
    else return null;
  }
}
