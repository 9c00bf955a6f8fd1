import { imapNString } from '../../mime/imap-string.js';

/**
 * A mailbox name in LIST, LSUB and STATUS (RFC 3501 §9 astring): plain names
 * as atoms, others as IMAP strings of their UTF-8 octets, quoted or literal by
 * the rules ENVELOPE uses; `NIL` is quoted too, or parsers read it as nil.
 */
export function mailboxName(name: string): string {
  if (/^[A-Za-z0-9!#$&'+,\-./:;<=>?@^_`|}~[\]]+$/.test(name) && name.toUpperCase() !== 'NIL') return name;
  return imapNString(Buffer.from(name, 'utf8').toString('latin1'));
}
