import type { Address } from '../../../mime/digest.js';
import { parseAddresses, searchText } from '../../../mime/digest.js';
import { decodeWords, firstHeader, parseHeaderFields } from '../../../mime/headers.js';
import type { Store } from '../../../store/store.js';
import type { StoredMessage } from '../../../store/types.js';
import { DerivedCache, stringBytes } from '../derived-cache.js';
import { goJson } from '../go-json.js';
import { cleanString } from './clean.js';
import { enmimeView, type EnmimeView } from './parts.js';
import { asciiLower } from '../../../match/ascii-lower.js';
import { trimChars } from '../../../match/trim-chars.js';

/**
 * What Mailpit stores about a message when it arrives, derived here from what Mailroom captured.
 * Mailpit edits mail on arrival: it sets Return-Path to the SMTP sender, adds a Message-ID when
 * there is none, and adds every envelope recipient missing from To, Cc and Bcc as a Bcc header.
 * Mailroom keeps the bytes as received, so those edits show only where Mailpit's JSON shows
 * them: the Bcc list, ReturnPath, and the search text.
 */
export interface MessageFacts {
  from: Address;
  /** null where Mailpit stores nothing (Go's omitempty on an empty list), as its summaries show. */
  to: Address[] | null;
  cc: Address[] | null;
  bcc: Address[] | null;
  replyTo: Address[] | null;
  messageId: string;
  returnPath: string;
  /** Count of enmime's Attachments (named or not). */
  attachments: number;
  /** Count of enmime's Inlines, for has:inline. */
  inlines: number;
  snippet: string;
  view: EnmimeView;
  /**
   * Mailpit's search columns, ASCII lower-cased as SQLite's LIKE compares: each address list as
   * the JSON Mailpit keeps it (`{}` when absent) and the Message-ID. The subject's is made by the
   * search itself (search.ts), which is cheaper than looking facts up.
   */
  columns: { from: string; to: string; cc: string; bcc: string; replyTo: string; messageId: string };
  /** The header half of Mailpit's SearchText, cleaned. */
  headerText: string;
}

const SNIPPET_BYTES = 200;
/** Length of Mailroom's own snippet: one that long was cut from a longer text. */
const DIGEST_SNIPPET_CHARS = 200;

/**
 * Mailpit's snippet from Mailroom's: at most 200 bytes with `...` when cut, cut as Go's
 * truncate does (backing off a character it might split, even one that ends on the boundary).
 */
function snippetOf(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= SNIPPET_BYTES && text.length < DIGEST_SNIPPET_CHARS) return text;
  let end = Math.min(SNIPPET_BYTES, bytes.length);
  if (end < bytes.length) {
    while (end > 0 && (bytes[end - 1]! & 0xc0) === 0x80) end -= 1;
    if (end > 0 && (bytes[end - 1]! & 0xc0) === 0xc0) end -= 1;
  }
  return `${bytes.toString('utf8', 0, end)}...`;
}

/** What Go's mail.ParseAddress accepts of an envelope address, near enough: local@domain, both non-empty. */
function plausibleAddress(address: string): boolean {
  const at = address.lastIndexOf('@');
  return at > 0 && at < address.length - 1 && !/[\s<>]/.test(address);
}

const orNull = (list: Address[]): Address[] | null => (list.length === 0 ? null : list);

/** JSON as Go marshals []*mail.Address: keys Name then Address. */
const goAddresses = (list: Address[] | null): string => (list === null ? '{}' : goJson(list.map((a) => ({ Name: a.name, Address: a.address })), { newline: false }));

function computeFacts(message: StoredMessage): MessageFacts {
  const { raw, digest, envelope } = message;
  const headers = parseHeaderFields(raw.subarray(0, digest.root.bodyStart));
  const header = (name: string): string => decodeWords(firstHeader(headers, name) ?? '');
  const fromHeader = header('from');
  const from = digest.from ?? { name: fromHeader, address: '' };
  const listed = new Set<string>();
  for (const list of [digest.to, digest.cc, digest.bcc]) for (const a of list) listed.add(a.address.toLowerCase());
  const missing = envelope.rcptTo.filter((rcpt) => plausibleAddress(rcpt) && !listed.has(rcpt.toLowerCase()));
  // Mailpit adds missing recipients only when there is no Bcc header of its own.
  const bcc = digest.bcc.length > 0 ? digest.bcc : missing.map((address) => ({ name: '', address }));
  const replyTo = parseAddresses(firstHeader(headers, 'reply-to'));
  const messageId = trimChars(header('message-id'), '<>');
  const view = enmimeView(digest.root);
  const to = orNull(digest.to);
  const cc = orNull(digest.cc);
  const bccOrNull = orNull(bcc);
  const replyToOrNull = orNull(replyTo);
  const bccHeader = digest.bcc.length > 0 ? header('bcc') : missing.join(', ');
  const returnPath = envelope.mailFrom !== '' ? envelope.mailFrom : from.address;
  const headerText = cleanString(
    [fromHeader, digest.subject, header('to'), header('cc'), bccHeader, header('reply-to'), envelope.mailFrom === '' ? '' : `<${envelope.mailFrom}>`].join(' '),
  );
  return {
    from,
    to,
    cc,
    bcc: bccOrNull,
    replyTo: replyToOrNull,
    messageId,
    returnPath,
    attachments: view.attachments.length,
    inlines: view.inlines.length,
    snippet: snippetOf(digest.snippet),
    view,
    columns: {
      from: asciiLower(goJson({ Name: from.name, Address: from.address }, { newline: false })),
      to: asciiLower(goAddresses(to)),
      cc: asciiLower(goAddresses(cc)),
      bcc: asciiLower(goAddresses(bccOrNull)),
      replyTo: asciiLower(goAddresses(replyToOrNull)),
      messageId: asciiLower(messageId),
    },
    headerText,
  };
}

function factsCost(facts: MessageFacts): number {
  const { columns, view } = facts;
  const parts = view.attachments.length + view.inlines.length + view.others.length;
  return 512 + 128 * parts + 2 * (facts.headerText.length + facts.snippet.length + columns.from.length + columns.to.length + columns.cc.length + columns.bcc.length + columns.replyTo.length + columns.messageId.length);
}

/**
 * Facts and search texts per message, made when first asked for and kept within memory budgets;
 * they leave with their message.
 */
export class MailpitFacts {
  private readonly facts: DerivedCache<MessageFacts>;
  private readonly texts: DerivedCache<string>;

  constructor(store: Store, budgets: { factsBytes: number; textBytes: number }) {
    this.facts = new DerivedCache(store, budgets.factsBytes, computeFacts, factsCost);
    this.texts = new DerivedCache(store, budgets.textBytes, (message) => this.computeSearchText(message), stringBytes);
  }

  of(message: StoredMessage): MessageFacts {
    return this.facts.get(message);
  }

  /**
   * Mailpit's SearchText: the address and subject headers, the body (the HTML's text when there
   * is HTML, else the text parts) and the attachments' file names, cleaned. Bodies are read as
   * Mailroom's own search reads them, the first 256 KiB of each part.
   */
  searchText(message: StoredMessage): string {
    return this.texts.get(message);
  }

  close(): void {
    this.facts.close();
    this.texts.close();
  }

  private computeSearchText(message: StoredMessage): string {
    const facts = this.of(message);
    const { view } = facts;
    const body = view.htmlPart !== null ? searchText(message.raw, view.htmlPart) : view.textParts.map((part) => searchText(message.raw, part)).join(' -- ');
    const names = view.attachments.map((a) => a.fileName).join(' ');
    return [facts.headerText, cleanString(body), cleanString(names)].filter((piece) => piece !== '').join(' ');
  }
}
