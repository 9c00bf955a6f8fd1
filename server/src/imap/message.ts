import type { MessageDigest } from '../mime/digest.js';

/**
 * One message as IMAP sees it in a mailbox. INBOX messages are the store's
 * records; folder copies share the same raw bytes under their own UID and
 * flags. `flags` holds system flags with their backslash (`\Seen`) and
 * keywords as written; \Recent is per session and never stored here.
 *
 * `raw` and `digest` are null once the message is gone (expunged, or
 * dropped by the store) while a session that has not been told yet still
 * numbers it (RFC 3501 §7.4.1): its bytes are not kept for that session.
 */
export interface ImapMessage {
  readonly uid: number;
  readonly raw: Buffer | null;
  /** INTERNALDATE, epoch milliseconds. */
  readonly internalDate: number;
  readonly flags: ReadonlySet<string>;
  /** Made once when the message was captured or appended; copies share it. `digest.root` is the MIME part tree. */
  readonly digest: MessageDigest | null;
}

/** What a message is made of while it is there: both or neither. */
export interface MessageContent {
  readonly raw: Buffer;
  readonly digest: MessageDigest;
}

/** The message's bytes and parse, or null when it is gone. */
export function contentOf(message: ImapMessage): MessageContent | null {
  const { raw, digest } = message;
  return raw === null || digest === null ? null : { raw, digest };
}
