import { wireSize } from '../../pop3/maildrop.js';
import { contentOf, type ImapMessage, type MessageContent } from '../message.js';
import { flagList } from './flags.js';
import { internalDate } from './internal-date.js';
import { isShort, type FetchItem, type FetchRequest, type SectionItem } from './items.js';
import { sectionContent } from './section-content.js';
import { bodyStructureOf, envelopeOf } from './structures.js';

/** RFC 3501 §6.4.5: RFC822 is BODY[], RFC822.HEADER is BODY.PEEK[HEADER], RFC822.TEXT is BODY[TEXT], under their own names. */
const RFC822: SectionItem = { kind: 'BODY[]', peek: false, part: [], text: '', fields: [], partial: null, label: 'RFC822' };
const RFC822_HEADER: SectionItem = { kind: 'BODY[]', peek: true, part: [], text: 'HEADER', fields: [], partial: null, label: 'RFC822.HEADER' };
const RFC822_TEXT: SectionItem = { kind: 'BODY[]', peek: false, part: [], text: 'TEXT', fields: [], partial: null, label: 'RFC822.TEXT' };

/**
 * Literals at least this long go out as their own write, a view of the
 * stored bytes, never copied; shorter runs are joined, since a copy of a few
 * KiB costs less than a write of its own.
 */
const LITERAL_VIEW_MIN = 4096;

/**
 * What Dovecot answers for an item of a message that is gone (cmd-fetch's
 * "nil replies"): BODY and BODYSTRUCTURE an empty text/plain part, ENVELOPE
 * all NIL, sizes 0, body sections NIL.
 */
const BODY_NIL = '("text" "plain" NIL NIL NIL "7bit" 0 0)';
const BODYSTRUCTURE_NIL = '("text" "plain" NIL NIL NIL "7bit" 0 0 NIL NIL NIL NIL)';
const ENVELOPE_NIL = '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)';

/**
 * One untagged FETCH response, collected as latin1 text (one char per byte)
 * with literals kept as buffers, so message bytes are never copied into
 * strings.
 */
class Response {
  private readonly chunks: Buffer[] = [];
  private text: string;
  private first = true;

  constructor(seq: number) {
    this.text = `* ${seq} FETCH (`;
  }

  item(text: string): void {
    this.text += this.first ? text : ` ${text}`;
    this.first = false;
  }

  /** `name` SP and a value made elsewhere as bytes. */
  value(name: string, bytes: Buffer): void {
    this.withBytes(`${name} `, bytes);
  }

  /** `label {n}` CRLF and the octets: Dovecot sends every body as a literal, even an empty one. */
  literal(label: string, bytes: Buffer): void {
    this.withBytes(`${label} {${bytes.length}}\r\n`, bytes);
  }

  private withBytes(prefix: string, bytes: Buffer): void {
    this.item(prefix);
    this.chunks.push(Buffer.from(this.text, 'latin1'), bytes);
    this.text = '';
  }

  /** The response as buffers to write in order: short pieces joined, long literals as they are. */
  finish(): Buffer[] {
    this.chunks.push(Buffer.from(`${this.text})\r\n`, 'latin1'));
    if (this.chunks.length === 1) return this.chunks;
    const out: Buffer[] = [];
    let run: Buffer[] = [];
    const endRun = (): void => {
      if (run.length > 0) out.push(run.length === 1 ? run[0]! : Buffer.concat(run));
      run = [];
    };
    for (const chunk of this.chunks) {
      if (chunk.length < LITERAL_VIEW_MIN) {
        run.push(chunk);
        continue;
      }
      endRun();
      out.push(chunk);
    }
    endRun();
    return out;
  }
}

/** Whether an item is answered from what a gone message still has (its UID, flags and internal date). */
function needsContent(item: FetchItem): boolean {
  return item.kind !== 'UID' && item.kind !== 'FLAGS' && item.kind !== 'INTERNALDATE';
}

function renderItem(response: Response, message: ImapMessage, content: MessageContent, item: FetchItem, recent: boolean): void {
  const { raw, digest } = content;
  const { root } = digest;
  switch (item.kind) {
    case 'UID':
      return response.item(`UID ${message.uid}`);
    case 'FLAGS':
      return response.item(`FLAGS (${flagList(message.flags, recent)})`);
    case 'INTERNALDATE':
      return response.item(`INTERNALDATE "${internalDate(message.internalDate)}"`);
    case 'RFC822.SIZE':
      return response.item(`RFC822.SIZE ${wireSize(raw)}`);
    case 'ENVELOPE':
      return response.value('ENVELOPE', envelopeOf(raw, digest));
    case 'BODYSTRUCTURE':
      return response.value('BODYSTRUCTURE', bodyStructureOf(raw, digest, true));
    case 'BODY':
      return response.value('BODY', bodyStructureOf(raw, digest, false));
    case 'RFC822':
      return response.literal(RFC822.label, sectionContent(raw, root, RFC822));
    case 'RFC822.HEADER':
      return response.literal(RFC822_HEADER.label, sectionContent(raw, root, RFC822_HEADER));
    case 'RFC822.TEXT':
      return response.literal(RFC822_TEXT.label, sectionContent(raw, root, RFC822_TEXT));
    case 'BODY[]':
      return response.literal(item.label, sectionContent(raw, root, item));
  }
}

/** An item of a gone message: what it still has, else Dovecot's nil reply. */
function renderGoneItem(response: Response, message: ImapMessage, item: FetchItem, recent: boolean): void {
  switch (item.kind) {
    case 'UID':
      return response.item(`UID ${message.uid}`);
    case 'FLAGS':
      return response.item(`FLAGS (${flagList(message.flags, recent)})`);
    case 'INTERNALDATE':
      return response.item(`INTERNALDATE "${internalDate(message.internalDate)}"`);
    case 'RFC822.SIZE':
      return response.item('RFC822.SIZE 0');
    case 'ENVELOPE':
      return response.item(`ENVELOPE ${ENVELOPE_NIL}`);
    case 'BODYSTRUCTURE':
      return response.item(`BODYSTRUCTURE ${BODYSTRUCTURE_NIL}`);
    case 'BODY':
      return response.item(`BODY ${BODY_NIL}`);
    case 'RFC822':
    case 'RFC822.HEADER':
    case 'RFC822.TEXT':
      return response.item(`${item.kind} NIL`);
    case 'BODY[]':
      return response.item(`${item.label} NIL`);
  }
}

export interface RenderedFetch {
  /** The response, in order. */
  chunks: Buffer[];
  /** The message is gone and some item could only be answered NIL (RFC 5530 EXPUNGEISSUED). */
  lost: boolean;
}

/**
 * The whole untagged response `* <seq> FETCH (...)` CRLF for one message, as
 * buffers to write in order, byte for byte what Dovecot 2.3 sends for the
 * same request.
 *
 * `extra.uid` adds UID when it was not asked for (UID FETCH always returns
 * it, RFC 3501 §6.4.8), first, as Dovecot does. `extra.flags` adds FLAGS
 * when it was not asked for, for a message whose \Seen this FETCH has just
 * set (RFC 3501 §6.4.5), after the short items, as Dovecot does; the caller
 * sets the flag on `message` first. `extra.recent`: this session sees the
 * message as \Recent.
 *
 * A message that is gone (RFC 2180 §4.1.3) still has its UID, flags and
 * internal date; every other item gets the value Dovecot sends then.
 */
export function renderFetchParts(message: ImapMessage, seq: number, request: FetchRequest, extra: { uid: boolean; flags: boolean; recent: boolean }): RenderedFetch {
  const content = contentOf(message);
  const response = new Response(seq);
  if (extra.uid) response.item(`UID ${message.uid}`);
  let flagsDue = extra.flags;
  let lost = false;
  for (const item of request.items) {
    if (item.kind === 'FLAGS') flagsDue = false;
    else if (flagsDue && !isShort(item)) {
      response.item(`FLAGS (${flagList(message.flags, extra.recent)})`);
      flagsDue = false;
    }
    if (extra.uid && item.kind === 'UID') continue;
    if (content !== null) renderItem(response, message, content, item, extra.recent);
    else {
      lost ||= needsContent(item);
      renderGoneItem(response, message, item, extra.recent);
    }
  }
  if (flagsDue) response.item(`FLAGS (${flagList(message.flags, extra.recent)})`);
  return { chunks: response.finish(), lost };
}

/** renderFetchParts as one buffer. */
export function renderFetch(message: ImapMessage, seq: number, request: FetchRequest, extra: { uid: boolean; flags: boolean; recent: boolean }): Buffer {
  const { chunks } = renderFetchParts(message, seq, request, extra);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
