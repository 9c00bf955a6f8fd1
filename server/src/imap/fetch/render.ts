import { wireSize } from '../../pop3/maildrop.js';
import type { ImapMessage } from '../message.js';
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

  finish(): Buffer {
    this.chunks.push(Buffer.from(`${this.text})\r\n`, 'latin1'));
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  }
}

function renderItem(response: Response, message: ImapMessage, item: FetchItem, recent: boolean): void {
  const { raw, digest } = message;
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

/**
 * The whole untagged response `* <seq> FETCH (...)` CRLF for one message, as
 * bytes, byte for byte what Dovecot 2.3 sends for the same request.
 *
 * `extra.uid` adds UID when it was not asked for (UID FETCH always returns
 * it, RFC 3501 §6.4.8), first, as Dovecot does. `extra.flags` adds FLAGS
 * when it was not asked for, for a message whose \Seen this FETCH has just
 * set (RFC 3501 §6.4.5), after the short items, as Dovecot does; the caller
 * sets the flag on `message` first. `extra.recent`: this session sees the
 * message as \Recent.
 */
export function renderFetch(message: ImapMessage, seq: number, request: FetchRequest, extra: { uid: boolean; flags: boolean; recent: boolean }): Buffer {
  const response = new Response(seq);
  if (extra.uid) response.item(`UID ${message.uid}`);
  let flagsDue = extra.flags;
  for (const item of request.items) {
    if (item.kind === 'FLAGS') flagsDue = false;
    else if (flagsDue && !isShort(item)) {
      response.item(`FLAGS (${flagList(message.flags, extra.recent)})`);
      flagsDue = false;
    }
    if (!(extra.uid && item.kind === 'UID')) renderItem(response, message, item, extra.recent);
  }
  if (flagsDue) response.item(`FLAGS (${flagList(message.flags, extra.recent)})`);
  return response.finish();
}
