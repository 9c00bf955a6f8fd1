import { parseAddressList } from '../../mime/address-list.js';
import { indexMessage, type MimePart } from '../../mime/part-index.js';
import type { ImapMessage } from '../message.js';
import { baseSubject, type BaseSubject } from './base-subject.js';
import { casemap } from './casemap.js';
import { parseMessageDate, type MessageDate } from './dates.js';
import { asciiLower } from '../../match/ascii-lower.js';
import { firstValue, headerLines, type HeaderLine } from './header-lines.js';
import { headerSearchText, type HeaderMode } from './header-text.js';
import { firstMessageId, messageIds } from './message-id.js';

/**
 * What SEARCH, SORT and THREAD read from a message's top-level header and
 * size, worked out on first use and kept with the message. Keyed by the raw
 * bytes, which copies of a message in other mailboxes share, so a mailbox
 * that is searched, sorted or threaded again parses nothing again.
 */
class MessageFacts {
  private header: HeaderLine[] | undefined;
  private size: number | undefined;
  private sent: MessageDate | null | undefined;
  private subject: BaseSubject | null | undefined;
  private links: ThreadLinks | undefined;
  private readonly addressKeys = new Map<string, string>();
  private readonly searchTexts = new Map<string, readonly string[]>();

  constructor(
    private readonly raw: Buffer,
    private readonly root: MimePart,
  ) {}

  fields(): HeaderLine[] {
    return (this.header ??= headerLines(this.raw, this.root.headerStart, this.root.bodyStart));
  }

  /** RFC822.SIZE: the size with every bare LF counted as CRLF, as the message is served. */
  rfc822Size(): number {
    if (this.size !== undefined) return this.size;
    const { raw } = this;
    let size = raw.length;
    for (let i = raw.indexOf(0x0a); i >= 0; i = raw.indexOf(0x0a, i + 1)) if (i === 0 || raw[i - 1] !== 0x0d) size++;
    return (this.size = size);
  }

  /**
   * The first Date: field's time, or null when there is none or it does not
   * read as a date. Dovecot keeps this in 32 unsigned bits, so that a date
   * before 1970 sorts after all others and is "since" any later date; we keep
   * the date as written, as RFC 5256 §2.2 and RFC 3501 §6.4.4 mean it.
   */
  sentDate(): MessageDate | null {
    if (this.sent === undefined) {
      const value = firstValue(this.fields(), 'date');
      this.sent = value === undefined ? null : parseMessageDate(value);
    }
    return this.sent;
  }

  /** Null when there is no Subject field at all, which THREAD=REFERENCES tells apart from an empty one. */
  baseSubject(): BaseSubject | null {
    if (this.subject === undefined) {
      const value = firstValue(this.fields(), 'subject');
      this.subject = value === undefined ? null : baseSubject(value);
    }
    return this.subject;
  }

  /** RFC 5256 §3: the local part of the first address, casemapped; '' without one. */
  addressKey(lowerName: string): string {
    let key = this.addressKeys.get(lowerName);
    if (key === undefined) {
      const value = firstValue(this.fields(), lowerName);
      const mailbox = value === undefined ? null : (parseAddressList(value)[0]?.mailbox ?? null);
      key = mailbox === null ? '' : casemap(Buffer.from(mailbox, 'latin1').toString('utf8'));
      this.addressKeys.set(lowerName, key);
    }
    return key;
  }

  threadLinks(): ThreadLinks {
    if (this.links === undefined) {
      const fields = this.fields();
      const id = firstValue(fields, 'message-id');
      const references = firstValue(fields, 'references');
      let parents = references === undefined ? [] : messageIds(references);
      if (parents.length === 0) {
        // RFC 5256 §3, REFERENCES: In-Reply-To only when References gives nothing.
        const inReplyTo = firstValue(fields, 'in-reply-to');
        const first = inReplyTo === undefined ? null : firstMessageId(inReplyTo);
        parents = first === null ? [] : [first];
      }
      this.links = { id: id === undefined ? null : firstMessageId(id), references: parents };
    }
    return this.links;
  }

  /** The casemapped text of every field with this name, for a header search key; [] when there is none. */
  headerTexts(lowerName: string, mode: HeaderMode): readonly string[] {
    const cacheKey = `${mode}:${lowerName}`;
    let texts = this.searchTexts.get(cacheKey);
    if (texts === undefined) {
      texts = this.fields()
        .filter((field) => field.name.length === lowerName.length && asciiLower(field.name) === lowerName)
        .map((field) => headerSearchText(field.value, mode));
      // Keys are field names from clients; keep the cache from growing without bound.
      if (this.searchTexts.size < 64) this.searchTexts.set(cacheKey, texts);
    }
    return texts;
  }
}

export interface ThreadLinks {
  /** The Message-ID, or null when it is missing or unreadable. */
  readonly id: string | null;
  /** The References identifiers, oldest first, or else the In-Reply-To one. */
  readonly references: readonly string[];
}

/** A search needs the text of a message that is gone: its result for that message is unknown (RFC 5530 EXPUNGEISSUED). */
export class MessageGone extends Error {}

/** Dropped with the bytes they are keyed by, so an evicted message's facts go with it. */
const cache = new WeakMap<Buffer, MessageFacts>();
let blank: MessageFacts | undefined;

/** The facts of a message; throws MessageGone when the message is gone. */
export function factsOf(message: ImapMessage): MessageFacts {
  const { raw, digest } = message;
  if (raw === null || digest === null) throw new MessageGone();
  let facts = cache.get(raw);
  if (facts === undefined) {
    facts = new MessageFacts(raw, digest.root);
    cache.set(raw, facts);
  }
  return facts;
}

/**
 * For SORT and THREAD, which order every message they are given: a gone
 * message sorts as an empty one (no fields, size 0, dated by INTERNALDATE),
 * as Dovecot keeps it in its results.
 */
export function factsOrBlank(message: ImapMessage): MessageFacts {
  if (message.raw !== null && message.digest !== null) return factsOf(message);
  if (blank === undefined) {
    const empty = Buffer.alloc(0);
    blank = new MessageFacts(empty, indexMessage(empty).root);
  }
  return blank;
}

/**
 * The date SORT (DATE), THREAD and ORDEREDSUBJECT order by: the sent date,
 * or the internal date when the message has none (RFC 5256 §2.2).
 */
export function sortDate(message: ImapMessage): number {
  return factsOrBlank(message).sentDate()?.time ?? internalSeconds(message);
}

/** INTERNALDATE in whole seconds, the precision IMAP gives it. */
export function internalSeconds(message: ImapMessage): number {
  return Math.floor(message.internalDate / 1000);
}
