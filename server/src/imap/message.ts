import type { MessageDigest } from '../mime/digest.js';

/**
 * One message as IMAP sees it in a mailbox. INBOX messages are the store's
 * records; folder copies share the same raw bytes under their own UID and
 * flags. `flags` holds system flags with their backslash (`\Seen`) and
 * keywords as written; \Recent is per session and never stored here.
 */
export interface ImapMessage {
  readonly uid: number;
  readonly raw: Buffer;
  /** INTERNALDATE, epoch milliseconds. */
  readonly internalDate: number;
  readonly flags: ReadonlySet<string>;
  /** Made once when the message was captured or appended; copies share it. `digest.root` is the MIME part tree. */
  readonly digest: MessageDigest;
}
