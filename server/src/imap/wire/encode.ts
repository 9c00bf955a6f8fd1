/** Values in server responses (RFC 3501 §9): strings quoted when they can be, literals otherwise. */

/** A quoted string when the text allows one (7-bit, no CR/LF, RFC 3501 §4.3), otherwise a literal. */
export function imapString(text: string): string {
  if (/^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(text)) return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  return `{${Buffer.byteLength(text)}}\r\n${text}`;
}

/** A mailbox name in LIST, LSUB and STATUS: INBOX and plain names as they are, others quoted (RFC 3501 §9 astring). */
export function mailboxName(name: string): string {
  return /^[A-Za-z0-9!#$&'+,\-./:;<=>?@^_`|}~[\]]+$/.test(name) ? name : imapString(name);
}
