import type { MimePart } from '../../mime/part-index.js';

/**
 * The part a section number names (RFC 3501 §6.4.5), walked as Dovecot walks
 * it, which differs from mime/find-part.ts at the edges:
 * - in a multipart, 0 picks the first part as 1 does (Dovecot counts down
 *   from the number), and a multipart without parts (no usable boundary)
 *   has no part 1;
 * - any other part has just part 1, itself: `1` of a single-part message is
 *   its body, and a leaf may be followed by one more `.1` (`1.1.1` of a
 *   message whose part 1.1 is text is that text);
 * - a number after a message/rfc822 part continues in the message inside.
 */
export function findSectionPart(root: MimePart, numbers: readonly number[]): MimePart | null {
  let part = root;
  for (let i = 0; i < numbers.length; i++) {
    const n = numbers[i]!;
    const last = i === numbers.length - 1;
    if (part.type === 'multipart') {
      const child = part.children[Math.max(n, 1) - 1];
      if (child === undefined) return null;
      part = child;
    } else if (n !== 1 || (!last && part.message === null)) {
      return null;
    }
    if (!last && part.message !== null) part = part.message;
  }
  return part;
}
