const LOWER = /[a-z]+/g;
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Upper case for protocol tokens and header names, which IMAP and RFC 5322
 * compare as ASCII: only a-z change. String.toUpperCase() would also change
 * 8-bit (latin1) characters, even into two ('ß' into 'SS').
 */
export function asciiUpper(text: string): string {
  return NON_ASCII.test(text) ? text.replace(LOWER, (run) => run.toUpperCase()) : text.toUpperCase();
}
