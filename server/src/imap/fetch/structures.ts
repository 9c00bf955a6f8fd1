import { imapBodyStructure } from '../../mime/bodystructure.js';
import type { MessageDigest } from '../../mime/digest.js';
import { imapEnvelope } from '../../mime/envelope.js';

interface Structures {
  envelope?: Buffer;
  body?: Buffer;
  bodystructure?: Buffer;
}

/**
 * ENVELOPE, BODY and BODYSTRUCTURE (RFC 3501 §7.4.2) of each message, made
 * on first request and kept as long as its digest lives, as Dovecot keeps
 * them in its cache file. They depend only on bytes that never change, and
 * clients ask for them again on every resync; making them is what a FETCH of
 * those items costs (about 5 µs per MIME part), while keeping them costs
 * less memory than the part tree they are made from. Kept as bytes, not as
 * the strings they are built as, which V8 holds as trees of the pieces they
 * were concatenated from. Keyed by the digest, which folder copies share.
 */
const cache = new WeakMap<MessageDigest, Structures>();

/** Bytes of a latin1 string, in memory of their own: a slice of Buffer's shared pool would keep its whole slab alive. */
function kept(text: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(text.length);
  bytes.write(text, 'latin1');
  return bytes;
}

function cached(digest: MessageDigest): Structures {
  let entry = cache.get(digest);
  if (entry === undefined) {
    entry = {};
    cache.set(digest, entry);
  }
  return entry;
}

/** The ENVELOPE value, parentheses included, as wire bytes. */
export function envelopeOf(raw: Buffer, digest: MessageDigest): Buffer {
  const entry = cached(digest);
  return (entry.envelope ??= kept(imapEnvelope(raw, digest.root.headerStart, digest.root.bodyStart)));
}

/** The BODYSTRUCTURE (extended) or BODY value, parentheses included, as wire bytes. */
export function bodyStructureOf(raw: Buffer, digest: MessageDigest, extended: boolean): Buffer {
  const entry = cached(digest);
  if (extended) return (entry.bodystructure ??= kept(`(${imapBodyStructure(raw, digest.root, true)})`));
  return (entry.body ??= kept(`(${imapBodyStructure(raw, digest.root, false)})`));
}
