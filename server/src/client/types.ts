/**
 * The JSON shapes of Mailroom's HTTP API, as the client sees them. They are
 * written out here rather than imported from the server so that the client
 * stays free of server dependencies and runs in a browser.
 */

export interface Address {
  name: string;
  address: string;
}

export interface Envelope {
  /** MAIL FROM; empty for the null sender `<>`. */
  mailFrom: string;
  /** Every RCPT TO, Bcc recipients included. */
  rcptTo: string[];
}

/** A message as the list, the live events and the wait's `quiet` and timeout answers give it. */
export interface MessageSummary {
  id: string;
  from: Address | null;
  to: Address[];
  cc: Address[];
  subject: string;
  /** The Date header, ISO 8601. */
  date: string | null;
  /** When Mailroom stored it, ISO 8601. */
  receivedAt: string;
  /** Raw size in bytes. */
  size: number;
  read: boolean;
  /** Its tags, in the order it got them. */
  tags: string[];
  /** Attachments, not counting inline parts such as `cid:` images. */
  attachmentCount: number;
  snippet: string;
  envelope: Envelope;
}

export interface AttachmentInfo {
  /** MIME part number, as IMAP numbers sections. */
  partId: string;
  filename: string | null;
  contentType: string;
  /** Decoded size in bytes. */
  size: number;
  contentId: string | null;
  disposition: 'attachment' | 'inline';
  /** SHA-256 of the decoded content, lower-case hex. */
  sha256: string;
}

/** One message in full: `GET /api/messages/:id`. */
export interface MessageDetail extends MessageSummary {
  /** Top-level header fields in order, encoded words decoded. */
  headers: { name: string; value: string }[];
  text: string | null;
  html: string | null;
  attachments: AttachmentInfo[];
  smtp: { helo: string | null; remoteAddress: string | null; authUser: string | null; tls: boolean };
}

export interface MessagePage {
  /** Messages matching the query on the server. */
  total: number;
  /** Unread messages matching the query on the server. */
  unread: number;
  /** Newest first. */
  messages: MessageSummary[];
}

/** A link found in a message: `GET /api/messages/:id/links`. */
export interface Link {
  url: string;
  /** The anchor's text, for links in HTML. */
  text: string | null;
  /** The MIME part it was found in. */
  part: string;
  type: 'html' | 'text';
}
