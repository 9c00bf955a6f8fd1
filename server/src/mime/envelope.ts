import { NUL_REPLACEMENT, parseAddressList, type MailAddress } from './address-list.js';
import { imapNString, imapNStringNoLf } from './imap-string.js';

/**
 * IMAP ENVELOPE (RFC 3501 §7.4.2, `envelope` in §9) built from a raw header
 * block, byte for byte as Dovecot 2.3 prints it, so that a client sees the
 * same thing from Mailroom as from a real IMAP server.
 *
 * What Dovecot does, and we therefore do too:
 * - Header lines are split at LF; a CR right before the LF is not part of the
 *   line. A line starting with SP or HTAB continues the previous field
 *   (RFC 5322 §2.2.3); the folded lines are joined with a bare LF. The field
 *   name is everything before the first colon, minus trailing blanks (so
 *   `Subject :` counts, RFC 5322 §4.5 obs-optional); a line with no colon is
 *   skipped. All blanks after the colon are dropped, except that a value made
 *   only of blanks loses just the first one.
 * - Date, Subject, In-Reply-To and Message-ID: the last occurrence wins, and
 *   the raw value is used (no RFC 2047 decoding, RFC 3501 §7.4.2). NUL bytes
 *   become U+FFFD. Subject is tidied "for humans" (below); the other three
 *   only lose their line breaks.
 * - From, Sender, Reply-To, To, Cc, Bcc: every occurrence is parsed and the
 *   addresses are concatenated. Sender and Reply-To fall back to From when
 *   they give no address (RFC 3501 §7.4.2 requires them to be filled in).
 * - Display names and the subject: tabs, CR and LF count as spaces, runs of
 *   spaces collapse to one and the ends are trimmed. Whenever that changes
 *   anything, or the text holds `"`, `\` or 8-bit bytes, the result is sent
 *   as a literal, never as an escaped quoted string.
 */

const LF = 10;
const CR = 13;
const SP = 32;
const TAB = 9;
const COLON = 58;

/**
 * Dovecot reads a header line through an 8 KiB buffer; a line that does not
 * fit is handed over in pieces, which shows in how blanks after the colon
 * are skipped.
 */
const READ_BUFFER = 8192;


const enum Field {
  Date,
  Subject,
  From,
  Sender,
  ReplyTo,
  To,
  Cc,
  Bcc,
  InReplyTo,
  MessageId,
}

/** Lower-case field names by length, for a cheap case-insensitive lookup. */
const FIELDS_BY_LENGTH: ReadonlyMap<number, readonly (readonly [string, Field])[]> = new Map([
  [2, [['to', Field.To], ['cc', Field.Cc]]],
  [3, [['bcc', Field.Bcc]]],
  [4, [['date', Field.Date], ['from', Field.From]]],
  [6, [['sender', Field.Sender]]],
  [7, [['subject', Field.Subject]]],
  [8, [['reply-to', Field.ReplyTo]]],
  [10, [['message-id', Field.MessageId]]],
  [11, [['in-reply-to', Field.InReplyTo]]],
]);

function fieldOf(raw: Buffer, start: number, end: number): Field | null {
  const candidates = FIELDS_BY_LENGTH.get(end - start);
  if (!candidates) return null;
  outer: for (const [name, field] of candidates) {
    for (let i = 0; i < name.length; i++) {
      let c = raw[start + i] as number;
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      if (c !== name.charCodeAt(i)) continue outer;
    }
    return field;
  }
  return null;
}

function replaceNuls(value: string): string {
  return value.includes('\0') ? value.replaceAll('\0', NUL_REPLACEMENT) : value;
}

/**
 * Subject and display names: whitespace (SP, HTAB, CR, LF) collapsed to single
 * spaces and trimmed. Text that needs no change and holds nothing that would
 * need escaping goes out quoted as is; anything else goes out as a literal
 * of the cleaned text (RFC 3501 §4.3), and text that was only whitespace
 * becomes "".
 */
function imapStringForHumans(bytes: string): string {
  const n = bytes.length;
  let modify = false;
  let removed = 0;
  let lastBlank = true;
  let blankPrefix = true;
  for (let i = 0; i < n; i++) {
    const c = bytes.charCodeAt(i);
    if (c === SP || c === TAB || c === CR || c === LF) {
      if (c !== SP) modify = true;
      if (lastBlank) {
        modify = true;
        removed++;
      }
      lastBlank = true;
    } else {
      if (c === 0 || c === 34 || c === 92 || c >= 0x80) modify = true;
      lastBlank = false;
      blankPrefix = false;
    }
  }
  if (lastBlank && n > 0 && !blankPrefix) {
    modify = true;
    removed++;
  }
  if (!modify) return `"${bytes}"`;
  if (removed === n) return '""';

  let out = '';
  let start = 0;
  lastBlank = true;
  for (let i = 0; i < n; i++) {
    const c = bytes.charCodeAt(i);
    if (c === SP || c === TAB || c === CR || c === LF) {
      out += bytes.slice(start, i);
      if (!lastBlank) out += ' ';
      start = i + 1;
      lastBlank = true;
    } else {
      if (c === 0) {
        // NULs are already U+FFFD by now; 0x80 is what Dovecot would write
        out += `${bytes.slice(start, i)}\u0080`;
        start = i + 1;
      }
      lastBlank = false;
    }
  }
  out += bytes.slice(start);
  if (lastBlank && out.length > 0) out = out.slice(0, -1);
  return `{${out.length}}\r\n${out}`;
}

/** An RFC 3501 §9 `env-from`-style list: NIL, or `(` one `(name adl mailbox host)` per address `)`. */
function addressList(list: MailAddress[] | null): string {
  if (list === null || list.length === 0) return 'NIL';
  let out = '(';
  for (const addr of list) {
    out += `(${addr.name === null ? 'NIL' : imapStringForHumans(addr.name)} ${imapNString(addr.route)} ${imapNString(
      addr.mailbox,
    )} ${imapNString(addr.domain)})`;
  }
  return `${out})`;
}

/**
 * The ENVELOPE of the header block raw[headerStart, headerEnd) (a message's
 * header, or that of a message/rfc822 part's encapsulated message), without
 * the "ENVELOPE " prefix: `(date subject from sender reply-to to cc bcc
 * in-reply-to message-id)`. headerEnd may include the empty line that ends
 * the header; nothing after an empty line is read. The result is a byte
 * string (one char per byte) with any literals in wire form.
 */
export function imapEnvelope(raw: Buffer, headerStart: number, headerEnd: number): string {
  const end = Math.min(Math.max(headerEnd, 0), raw.length);
  // a view that ends where the header does, so line searches never run into the body
  const header = raw.subarray(0, end);
  const strings: (string | null)[] = [null, null, null, null, null, null, null, null, null, null];
  const addresses: (MailAddress[] | null)[] = [null, null, null, null, null, null, null, null, null, null];

  let pos = Math.max(headerStart, 0);
  while (pos < end) {
    // the first physical line of a field
    const lineStart = pos;
    let lf = header.indexOf(LF, pos);
    let contentEnd = lf < 0 ? end : lf > lineStart && raw[lf - 1] === CR ? lf - 1 : lf;
    if (contentEnd === lineStart && lf >= 0) break; // the empty line ending the header (RFC 5322 §2.1)
    pos = lf < 0 ? end : lf + 1;

    let colon = -1;
    let nul = -1;
    for (let i = lineStart; i < contentEnd; i++) {
      const c = raw[i];
      if (c === COLON) {
        colon = i;
        break;
      }
      if (c === 0 && nul < 0) nul = i;
    }
    let field: Field | null = null;
    if (colon >= 0 && colon - lineStart < READ_BUFFER) {
      let nameEnd = colon;
      while (nameEnd > lineStart && (raw[nameEnd - 1] === SP || raw[nameEnd - 1] === TAB)) nameEnd--;
      // Dovecot compares the name as a C string, so a NUL ends it
      if (nul >= 0 && nul < nameEnd) nameEnd = nul;
      field = fieldOf(raw, lineStart, nameEnd);
    }

    if (field === null) {
      // skip the continuation lines of a field we do not want
      while (pos < end && (raw[pos] === SP || raw[pos] === TAB)) {
        lf = header.indexOf(LF, pos);
        pos = lf < 0 ? end : lf + 1;
      }
      continue;
    }

    let valueStart = colon + 1;
    while (valueStart < contentEnd && (raw[valueStart] === SP || raw[valueStart] === TAB)) valueStart++;
    if (valueStart === contentEnd && contentEnd > colon + 1) valueStart = colon + 2;
    if (lf < 0 ? end - lineStart >= READ_BUFFER : lf - lineStart >= READ_BUFFER - 1) {
      // A first line longer than Dovecot's read buffer is cut at the last blank
      // inside the buffer; when that blank is still in the run right after the
      // colon, the blanks from the cut on stay in the value.
      let cut = lineStart + READ_BUFFER - 1;
      while (cut > colon && raw[cut] !== SP && raw[cut] !== TAB) cut--;
      if (cut > colon && cut < valueStart) valueStart = cut === colon + 1 ? colon + 1 : colon + 2;
    }
    let value = header.toString('latin1', valueStart, contentEnd);
    while (pos < end && (raw[pos] === SP || raw[pos] === TAB)) {
      const start = pos;
      lf = header.indexOf(LF, pos);
      contentEnd = lf < 0 ? end : raw[lf - 1] === CR ? lf - 1 : lf;
      pos = lf < 0 ? end : lf + 1;
      // Dovecot drops the line break before a continuation line made of a single
      // blank. Only the address parser can tell (inside comments, quoted strings).
      value += contentEnd - start === 1 ? String.fromCharCode(raw[start] as number) : `\n${header.toString('latin1', start, contentEnd)}`;
    }

    switch (field) {
      case Field.Date:
      case Field.Subject:
      case Field.InReplyTo:
      case Field.MessageId:
        strings[field] = replaceNuls(value);
        break;
      default: {
        const parsed = parseAddressList(value);
        if (parsed.length === 0) break;
        const previous = addresses[field];
        if (previous) {
          for (const addr of parsed) previous.push(addr);
        } else {
          addresses[field] = parsed;
        }
      }
    }
  }

  const subject = strings[Field.Subject] ?? null;
  const from = addresses[Field.From] ?? null;
  return (
    `(${imapNStringNoLf(strings[Field.Date] ?? null)} ${subject === null ? 'NIL' : imapStringForHumans(subject)} ` +
    `${addressList(from)} ${addressList(addresses[Field.Sender] ?? from)} ${addressList(addresses[Field.ReplyTo] ?? from)} ` +
    `${addressList(addresses[Field.To] ?? null)} ${addressList(addresses[Field.Cc] ?? null)} ${addressList(addresses[Field.Bcc] ?? null)} ` +
    `${imapNStringNoLf(strings[Field.InReplyTo] ?? null)} ${imapNStringNoLf(strings[Field.MessageId] ?? null)})`
  );
}
