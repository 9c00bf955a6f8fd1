import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Address } from '../../../mime/digest.js';
import { partBody } from '../../../mime/decode.js';
import { firstHeader, decodeWords, parseHeaderFields } from '../../../mime/headers.js';
import { SEEN, type StoredMessage } from '../../../store/types.js';
import { goJson, goTime } from '../go-json.js';
import type { MessageFacts } from './facts.js';
import { listUnsubscribe } from './list-unsubscribe.js';
import { mailpitTagsOf } from './tags.js';
import { messageDate } from './message-date.js';
import { enmimeBodies, listed, type EnmimePart } from './parts.js';

/**
 * Mailpit's JSON for messages (internal/storage/structs.go), keys in its order. Values are built
 * as plain objects in that order, so goJson writes them as Go's encoder does.
 */

const goAddress = (a: Address): { Name: string; Address: string } => ({ Name: a.name, Address: a.address });
const goAddresses = (list: Address[] | null): { Name: string; Address: string }[] | null => (list === null ? null : list.map(goAddress));

/**
 * A MessageSummary. Its address lists are `null` where Mailpit stored none; /messages turns a
 * null ReplyTo into `[]` (and nothing else), /search leaves it null.
 */
export function summaryOf(message: StoredMessage, facts: MessageFacts, listing: 'messages' | 'search'): Record<string, unknown> {
  const replyTo = goAddresses(facts.replyTo);
  return {
    ID: message.id,
    MessageID: facts.messageId,
    Read: message.flags.has(SEEN),
    From: goAddress(facts.from),
    To: goAddresses(facts.to),
    Cc: goAddresses(facts.cc),
    Bcc: goAddresses(facts.bcc),
    ReplyTo: listing === 'messages' ? (replyTo ?? []) : replyTo,
    Subject: message.digest.subject,
    Created: goTime(message.receivedAt),
    Username: message.smtp.authUser ?? '',
    Tags: mailpitTagsOf(message),
    Size: message.raw.length,
    Attachments: facts.attachments,
    Snippet: facts.snippet,
  };
}

export interface PageCounts {
  total: number;
  unread: number;
  messagesCount: number;
  messagesUnread: number;
  /** The start parameter as Go's int holds it, in decimal: it may exceed what a double holds exactly. */
  start: string;
}

/**
 * The MessagesSummary wrapper of /messages and /search; `count` is the legacy page length and
 * `tags` every tag in the store, as Mailpit lists them for its side bar.
 */
export function pageJson(counts: PageCounts, tags: readonly string[], summaries: Record<string, unknown>[]): string {
  const { total, unread, messagesCount, messagesUnread, start } = counts;
  return (
    `{"total":${total},"unread":${unread},"count":${summaries.length},"messages_count":${messagesCount},` +
    `"messages_unread":${messagesUnread},"start":${start},"tags":${goJson(tags, { newline: false })},"messages":${goJson(summaries, { newline: false })}}\n`
  );
}

/** Parts hashed between turns of the event loop, so a message of thousands of parts does not stall the server. */
const PARTS_PER_TURN = 500;

async function attachmentsOf(raw: Buffer, parts: EnmimePart[]): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const p of parts) {
    if (out.length > 0 && out.length % PARTS_PER_TURN === 0) await nextTurn();
    const content = partBody(raw, p.part);
    const hash = (algorithm: string): string => createHash(algorithm).update(content).digest('hex');
    out.push({
      PartID: p.partId,
      FileName: p.fileName === '' ? p.contentId : p.fileName,
      ContentType: p.contentType,
      ContentID: p.contentId,
      Size: content.length,
      Checksums: { MD5: hash('md5'), SHA1: hash('sha1'), SHA256: hash('sha256') },
    });
  }
  return out;
}

/**
 * The Message of GET /api/v1/message/{id}. Attachment sizes and checksums are of the content
 * with its transfer encoding undone, as served; enmime also converts a text attachment's charset
 * to UTF-8, so for text attachments not in UTF-8 Mailpit's figures differ.
 */
export async function detailOf(message: StoredMessage, facts: MessageFacts): Promise<Record<string, unknown>> {
  const { raw, digest } = message;
  const headers = parseHeaderFields(raw.subarray(0, digest.root.bodyStart));
  const header = (name: string): string => decodeWords(firstHeader(headers, name) ?? '');
  const { view } = facts;
  const { text, html } = enmimeBodies(raw, view);
  return {
    ID: message.id,
    MessageID: facts.messageId,
    From: goAddress(facts.from),
    To: goAddresses(facts.to) ?? [],
    Cc: goAddresses(facts.cc) ?? [],
    Bcc: goAddresses(facts.bcc) ?? [],
    ReplyTo: goAddresses(facts.replyTo) ?? [],
    ReturnPath: facts.returnPath,
    Subject: digest.subject,
    ListUnsubscribe: listUnsubscribe(header('list-unsubscribe'), header('list-unsubscribe-post')),
    Date: messageDate(firstHeader(headers, 'date'), message.receivedAt),
    Tags: mailpitTagsOf(message),
    Username: message.smtp.authUser ?? '',
    Text: text,
    HTML: html,
    Size: raw.length,
    Inline: await attachmentsOf(raw, [...listed(view.inlines), ...listed(view.others)]),
    Attachments: await attachmentsOf(raw, listed(view.attachments)),
  };
}
