import { randomUUID } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import { StoreCapacityError, type Store } from '../store/store.js';
import type { Envelope, StoredMessage } from '../store/types.js';

export interface ComposedAddress {
  address: string;
  name?: string;
}

export interface ComposedAttachment {
  filename: string;
  content: Buffer;
  contentType?: string;
  /** With one, the attachment is an inline part that HTML can show as `cid:`. */
  contentId?: string;
}

/** A message to build, in the terms every send route (Mailroom's own, Mailpit's) reduces to. */
export interface ComposeSpec {
  from: ComposedAddress;
  to: readonly ComposedAddress[];
  cc: readonly ComposedAddress[];
  /** In the envelope only, as a sender's Bcc would be. */
  bcc: readonly string[];
  replyTo: readonly ComposedAddress[];
  subject: string;
  text?: string;
  html?: string;
  attachments: readonly ComposedAttachment[];
  headers: Readonly<Record<string, string>>;
  /** Angle brackets included; a new `<uuid@mailroom>` unless given. */
  messageId?: string;
}

/** Headers the fields above write; setting them by name as well would give a message two of them. */
const OWN_HEADERS = new Set(['to', 'from', 'cc', 'bcc', 'reply-to', 'date', 'subject', 'content-type', 'mime-version', 'message-id']);

/** A field name as RFC 5322 §3.6.8 allows: printable ASCII but the colon. */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]{1,76}$/;

export class ComposeError extends Error {}

/** The header that a spec's custom headers may not set, or null. Names compare case-insensitively. */
export function forbiddenHeader(headers: Readonly<Record<string, string>>, extra: readonly string[] = []): string | null {
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (OWN_HEADERS.has(lower) || extra.includes(lower)) return name;
  }
  return null;
}

/**
 * The bytes and envelope of a message built from parts given over HTTP, by nodemailer's composer
 * (the MIME writer our users' apps use). Only values are handed over, never a path or URL, so a
 * request can make it read nothing from disk or network.
 */
export async function composeMessage(spec: ComposeSpec): Promise<{ raw: Buffer; envelope: Envelope }> {
  for (const [name, value] of Object.entries(spec.headers)) {
    if (!FIELD_NAME.test(name)) throw new ComposeError(`invalid header name: ${JSON.stringify(name)}`);
    if (/[\r\n]/.test(value)) throw new ComposeError(`header ${name} holds a line break`);
  }
  const recipients = [...spec.to.map((a) => a.address), ...spec.cc.map((a) => a.address), ...spec.bcc];
  if (recipients.length === 0) throw new ComposeError('no recipients (to, cc, bcc) set');
  const composer = new MailComposer({
    from: spec.from,
    to: [...spec.to],
    cc: [...spec.cc],
    bcc: [...spec.bcc],
    replyTo: [...spec.replyTo],
    subject: spec.subject,
    text: spec.text,
    html: spec.html,
    messageId: spec.messageId ?? `<${randomUUID()}@mailroom>`,
    date: new Date(),
    headers: { ...spec.headers },
    attachments: spec.attachments.map((a) => ({
      filename: a.filename,
      content: a.content,
      contentType: a.contentType,
      cid: a.contentId,
      contentDisposition: a.contentId === undefined ? 'attachment' : 'inline',
    })),
  });
  const node = composer.compile();
  // The composer keeps Bcc in the envelope and out of the header, as a sending client does.
  node.keepBcc = false;
  const raw = await node.build();
  return { raw, envelope: { mailFrom: spec.from.address, rcptTo: recipients } };
}

/** Request bytes a message of up to `maxMessageSize` takes as base64 in JSON: 4 for every 3, and room for the fields around it. */
export function composedBodyLimit(maxMessageSize: number): number {
  return Math.ceil((maxMessageSize * 4) / 3) + 1024 * 1024;
}

/** A built message that --max-message-size or the store's capacity refuses. */
export class MessageTooLarge extends Error {}

/** Stores a built message as if `remoteAddress` had sent it over SMTP, under the same size limit. */
export async function storeComposed(store: Store, composed: { raw: Buffer; envelope: Envelope }, remoteAddress: string, maxMessageSize: number, tags: readonly string[] = []): Promise<StoredMessage> {
  if (composed.raw.length > maxMessageSize) throw new MessageTooLarge(`The message would be ${composed.raw.length} bytes, over the ${maxMessageSize} allowed`);
  try {
    return await store.add({ raw: composed.raw, envelope: composed.envelope, smtp: { helo: null, remoteAddress, authUser: null, tls: false }, flags: tags });
  } catch (error) {
    if (error instanceof StoreCapacityError) throw new MessageTooLarge(error.message);
    throw error;
  }
}
