import { parseMediaType } from '../../../mime/content-fields.js';
import { MAX_MIME_PARTS } from '../../../mime/part-index.js';
import type { StoredMessage } from '../../../store/types.js';
import { rfc1123z } from '../../../relay/prepare.js';
import { goTime } from '../go-json.js';
import { byteString } from '../go-values.js';

/*
 * MailHog's data.Message (mailhog/data message.go), built from a stored
 * message the way MailHog builds it when mail arrives. Strings are Go
 * strings, bytes: Buffers for bodies (slices of the stored message, never
 * copied) and latin1 JS strings for header names and values, so sizes, splits
 * and map key order are MailHog's byte for byte. go-encode.ts writes them.
 *
 * Field names are the JSON keys, in the order Go declares them.
 *
 * Quirks kept, because clients can see them and test helpers read around
 * them: the header block ends at the first CRLF CRLF (LF-only mail is all
 * body, with no headers); a header line is split at its first ": " (lines
 * without one are dropped) and a repeated header keeps only its last
 * occurrence; continuation lines are joined with their leading white space and
 * no line break; names keep their case; bodies stay transfer-encoded; a part
 * is multipart only when its header is spelled exactly `Content-Type` and its
 * value starts with lower-case `multipart/`; parts are the pieces of the body
 * between occurrences of `--boundary` anywhere (not only at line starts),
 * trimmed of CR and LF at both ends, empty pieces skipped: a preamble is a
 * part, and the close delimiter leaves a last part whose body is `--`; the
 * Message-ID, Received and Return-Path fields MailHog adds on arrival.
 *
 * Not kept: MailHog's IDs (base64 of 32 random bytes, `@` and its host name).
 * Mailroom's own ids serve as MailHog IDs, since clients only echo them back
 * in URLs; they are URL-safe, so encodeURIComponent leaves them as they are.
 * Also not kept: MailHog's cost without bound. Its JSON repeats a part's bytes
 * once per level of nesting and it splits every piece into a part, so past
 * MAX_NESTING levels a multipart part gets `MIME: null`, and past
 * MAX_MIME_PARTS parts in one message the rest are left out.
 */

export type Headers = Map<string, string[]>;

export interface Content {
  Headers: Headers;
  Body: Buffer;
  Size: number;
  MIME: MimeBody | null;
}

export interface MimeBody {
  /** Go's nil slice when the boundary is missing or no piece was found. */
  Parts: Content[] | null;
}

export interface Path {
  /** The source route (`@a,@b:` before the address), null without one. */
  Relays: string[] | null;
  Mailbox: string;
  Domain: string;
  Params: string;
}

export interface SmtpMessage {
  From: string;
  To: string[] | null;
  Data: Buffer;
  Helo: string;
}

export interface Message {
  ID: string;
  From: Path;
  To: Path[] | null;
  Content: Content;
  Created: string;
  MIME: MimeBody | null;
  Raw: SmtpMessage;
}

/** MailHog's default `-hostname`, which it writes into the Received field it adds and the sender of released mail. */
export const MAILHOG_HOSTNAME = 'mailhog.example';

/**
 * Nesting levels of multipart parsed into `MIME.Parts`. Mail composers nest
 * three or four (mixed, related, alternative); a forwarded message is a
 * message/rfc822 part, which MailHog never opens.
 */
export const MAX_NESTING = 8;

const CRLF_CRLF = Buffer.from('\r\n\r\n');

export function mailhogMessage(stored: StoredMessage): Message {
  const data = smtpData(stored.raw);
  const content = contentOf(data);
  const mime = isMultipart(content) ? mimeBody(content, 1, { parts: 0 }) : null;
  addArrivalHeaders(content.Headers, stored);
  const { mailFrom, rcptTo } = stored.envelope;
  return {
    ID: stored.id,
    From: pathOf(byteString(mailFrom)),
    To: rcptTo.length > 0 ? rcptTo.map((to) => pathOf(byteString(to))) : null,
    Content: content,
    Created: goTime(stored.receivedAt),
    MIME: mime,
    Raw: {
      From: byteString(mailFrom),
      To: rcptTo.length > 0 ? rcptTo.map(byteString) : null,
      Data: data,
      Helo: byteString(stored.smtp.helo ?? ''),
    },
  };
}

/** The top-level Content with the fields MailHog adds, without splitting parts: all that search reads. */
export function topContent(stored: StoredMessage): Content {
  const content = contentOf(smtpData(stored.raw));
  addArrivalHeaders(content.Headers, stored);
  return content;
}

/** An envelope address as search matches it: Go's `Mailbox + "@" + Domain` of its Path, the source route left out. */
export function envelopeAddress(address: string): string {
  const path = pathOf(byteString(address));
  return `${path.Mailbox}@${path.Domain}`;
}

/** MailHog keeps DATA without the CRLF before the terminating dot; Mailroom keeps it as part of the message. */
function smtpData(raw: Buffer): Buffer {
  return raw.length >= 2 && raw[raw.length - 2] === 0x0d && raw[raw.length - 1] === 0x0a ? raw.subarray(0, raw.length - 2) : raw;
}

/** data.ContentFromString. */
function contentOf(data: Buffer): Content {
  const headers: Headers = new Map();
  const end = data.indexOf(CRLF_CRLF);
  if (end < 0) return { Headers: headers, Body: data, Size: data.length, MIME: null };
  let last = '';
  for (const line of data.toString('latin1', 0, end).split('\r\n')) {
    if (last !== '' && (line.startsWith(' ') || line.startsWith('\t'))) {
      const values = headers.get(last)!;
      values[values.length - 1] += line;
      continue;
    }
    const colon = line.indexOf(': ');
    if (colon < 0) continue;
    last = line.slice(0, colon);
    headers.set(last, [line.slice(colon + 2)]);
  }
  return { Headers: headers, Body: data.subarray(end + CRLF_CRLF.length), Size: data.length, MIME: null };
}

/** Content.IsMIME. */
function isMultipart(content: Content): boolean {
  return content.Headers.get('Content-Type')?.[0]?.startsWith('multipart/') ?? false;
}

/** Content.ParseMIMEBody. */
function mimeBody(content: Content, depth: number, count: { parts: number }): MimeBody {
  const boundary = boundaryOf(content.Headers.get('Content-Type')![0]!);
  if (boundary === '') return { Parts: null };
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const body = content.Body;
  const parts: Content[] = [];
  for (let start = 0; start <= body.length && count.parts < MAX_MIME_PARTS; ) {
    const found = body.indexOf(delimiter, start);
    const end = found < 0 ? body.length : found;
    if (end > start) {
      const part = contentOf(trimLineBreaks(body.subarray(start, end)));
      count.parts += 1;
      if (depth < MAX_NESTING && isMultipart(part)) part.MIME = mimeBody(part, depth + 1, count);
      parts.push(part);
    }
    start = end + delimiter.length;
  }
  return { Parts: parts.length > 0 ? parts : null };
}

/**
 * The boundary parameter. MailHog reads it with Go's mime.ParseMediaType,
 * which gives up on a duplicate or malformed parameter where Mailroom's
 * reader carries on; either way the boundary of well-formed mail is the same.
 */
function boundaryOf(contentType: string): string {
  return parseMediaType(contentType).params.find((param) => param.name.toLowerCase() === 'boundary')?.value ?? '';
}

/** strings.Trim(s, "\r\n"): every CR and LF at either end. */
function trimLineBreaks(piece: Buffer): Buffer {
  let start = 0;
  let end = piece.length;
  while (start < end && (piece[start] === 0x0d || piece[start] === 0x0a)) start += 1;
  while (end > start && (piece[end - 1] === 0x0d || piece[end - 1] === 0x0a)) end -= 1;
  return piece.subarray(start, end);
}

/** data.PathFromString: the source route is cut at the first colon, the address at the first `@`. */
function pathOf(path: string): Path {
  let relays: string[] | null = null;
  let address = path;
  const colon = path.indexOf(':');
  if (colon >= 0) {
    relays = path.slice(0, colon).split(',');
    address = path.slice(colon + 1);
  }
  const at = address.indexOf('@');
  if (at < 0) return { Relays: relays, Mailbox: address, Domain: '', Params: '' };
  return { Relays: relays, Mailbox: address.slice(0, at), Domain: address.slice(at + 1), Params: '' };
}

/**
 * What SMTPMessage.Parse adds once the content is parsed: Message-ID (the
 * bare ID) when no field of that name exists in any case; a Received field,
 * appended to an existing one; and Return-Path with the envelope sender,
 * likewise appended. Mailroom keeps the received bytes unchanged, so these
 * exist only in the MailHog view.
 */
function addArrivalHeaders(headers: Headers, stored: StoredMessage): void {
  let hasMessageId = false;
  let received = 'Received';
  let returnPath = 'Return-Path';
  for (const name of headers.keys()) {
    const lower = name.toLowerCase();
    if (lower === 'message-id') hasMessageId = true;
    else if (lower === 'received') received = name;
    else if (lower === 'return-path') returnPath = name;
  }
  if (!hasMessageId) headers.set('Message-ID', [stored.id]);
  const helo = byteString(stored.smtp.helo ?? '');
  append(headers, received, `from ${helo} by ${MAILHOG_HOSTNAME} (MailHog)\r\n          id ${stored.id}; ${rfc1123z(stored.receivedAt)}`);
  append(headers, returnPath, `<${byteString(stored.envelope.mailFrom)}>`);
}

function append(headers: Headers, name: string, value: string): void {
  const values = headers.get(name);
  if (values) values.push(value);
  else headers.set(name, [value]);
}

