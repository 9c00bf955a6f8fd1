import type { MessageDigest } from '../mime/digest.js';

/** \Seen is the read state; every protocol and the API share it through the store. */
export const SEEN = '\\Seen';

export interface SmtpDetails {
  helo: string | null;
  remoteAddress: string | null;
  authUser: string | null;
  tls: boolean;
}

export interface Envelope {
  mailFrom: string;
  rcptTo: string[];
}

/** What a capture hands to the store. */
export interface IncomingMessage {
  raw: Buffer;
  envelope: Envelope;
  smtp: SmtpDetails;
  receivedAt?: number;
  /** Flags it arrives with (IMAP APPEND); none for captured mail. */
  flags?: readonly string[];
  /** Its parse, when it is a copy of a stored message (IMAP COPY and MOVE share it). */
  digest?: MessageDigest;
}

export interface StoredMessage {
  readonly id: string;
  /** Strictly increasing over the life of the store; IMAP UIDs and POP3 UIDLs derive from it. */
  readonly uid: number;
  /** The exact bytes received, after SMTP dot-unstuffing. */
  readonly raw: Buffer;
  readonly envelope: Envelope;
  readonly smtp: SmtpDetails;
  /** Epoch milliseconds. */
  readonly receivedAt: number;
  readonly digest: MessageDigest;
  readonly flags: ReadonlySet<string>;
}

export interface StoreLimits {
  maxMessages: number;
  maxBytes: number;
}

export interface StoreEvents {
  new: [message: StoredMessage];
  /** Flags (tags among them) changed; `previous` are the flags before the change, `origin` what the writer passed. */
  update: [message: StoredMessage, previous: ReadonlySet<string>, origin: object | null];
  /** Messages removed by a delete, an eviction or a protocol expunge, oldest first, as they were when removed. */
  delete: [messages: StoredMessage[]];
  clear: [];
}
