/** Values in server responses (RFC 3501 §9): strings quoted when they can be, literals otherwise. */

/**
 * A quoted string when the text allows one (7-bit, no CR/LF, RFC 3501 §4.3),
 * otherwise a literal of its UTF-8 octets. The result is one char per octet,
 * as the session writes it (latin1), so the count and the octets agree.
 */
export function imapString(text: string): string {
  if (/^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(text)) return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  const octets = Buffer.from(text, 'utf8');
  return `{${octets.length}}\r\n${octets.toString('latin1')}`;
}

/**
 * A mailbox name in LIST, LSUB and STATUS (RFC 3501 §9 astring): plain names
 * as atoms, others quoted; `NIL` is quoted too, or parsers read it as nil.
 */
export function mailboxName(name: string): string {
  return /^[A-Za-z0-9!#$&'+,\-./:;<=>?@^_`|}~[\]]+$/.test(name) && name.toUpperCase() !== 'NIL' ? name : imapString(name);
}
