import { parseAddressList, type MailAddress } from '../../mime/address-list.js';
import { casemap } from './casemap.js';
import { decodeHeaderValue } from './encoded-words.js';
import { isAtext } from './rfc822-cursor.js';

/**
 * How a header search key (RFC 3501 §6.4.4) reads a field's value, following
 * Dovecot: HEADER takes the value as it is; SUBJECT first turns runs of
 * blanks into one space; BCC, CC, FROM and TO match against the address list
 * as re-written from its parsed form (so `"Bob" <bob@x>` reads `Bob <bob@x>`).
 * In every case encoded words are decoded and the text casemapped.
 */
export type HeaderMode = 'plain' | 'subject' | 'address';

/** The text a header key's string is searched for in, for one field value (a byte string). */
export function headerSearchText(value: string, mode: HeaderMode): string {
  const prepared = mode === 'subject' ? compressBlanks(value) : mode === 'address' ? writeAddresses(parseAddressList(value)) : value;
  // Dovecot searches the value followed by its line break.
  return `${casemap(decodeHeaderValue(prepared))}\r\n`;
}

/** Runs of spaces and tabs to one space, leading ones dropped. */
function compressBlanks(value: string): string {
  return value.replace(/^[ \t]+/, '').replace(/[ \t]+/g, ' ');
}

/**
 * A word as Dovecot writes it: bare when it is all atext (dots allowed in a
 * local part), otherwise quoted with `"`, `\\` and `'` escaped.
 */
function maybeQuote(text: string, dotsAllowed: boolean): string {
  let plain = true;
  for (let i = 0; i < text.length && plain; i++) {
    const code = text.charCodeAt(i);
    plain = isAtext(code) || (dotsAllowed && code === 0x2e);
  }
  return plain ? text : `"${text.replace(/["\\']/g, '\\$&')}"`;
}

/** A phrase holding an encoded word is written bare, since encoded words may not be quoted (RFC 2047 §5). */
function phrase(text: string): string {
  return text.includes('=?') ? text : maybeQuote(text, false);
}

/** An address list written back the way Dovecot's message_address_write() does. */
function writeAddresses(addresses: readonly MailAddress[]): string {
  let out = '';
  let first = true;
  let inGroup = false;
  for (const address of addresses) {
    if (!first) out += ', ';
    first = false;
    if (address.domain === null) {
      if (!inGroup) {
        // Group start: the mailbox field holds the group's name.
        out += address.mailbox ? phrase(address.mailbox) : '""';
        out += ': ';
        first = true;
      } else if (out.endsWith(', ')) {
        out = `${out.slice(0, -2)};`;
      } else {
        out = `${out.slice(0, -1)};`;
      }
      inGroup = !inGroup;
      continue;
    }
    const mailbox = address.mailbox ?? '';
    if (address.name !== null) out += phrase(address.name);
    if (address.route !== null || mailbox !== '' || address.domain !== '') {
      if (address.name) out += ' ';
      out += '<';
      if (address.route !== null) out += `${address.route}:`;
      out += mailbox === '' ? '""' : maybeQuote(mailbox, true);
      if (address.domain !== '') out += `@${address.domain}`;
      out += '>';
    }
  }
  return out;
}
