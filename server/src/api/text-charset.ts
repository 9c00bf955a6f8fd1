import { isUtf8 } from 'node:buffer';

/** A charset name as RFC 2978 registers them: a token, so it can go into a header as written. */
const CHARSET_NAME = /^[A-Za-z0-9!#$%&'+^_`{}~-]{1,40}$/;

/**
 * The charset to announce for a text attachment served as its bytes. The part's own label when it
 * has a usable one; without one, UTF-8 when the bytes are valid UTF-8 (which covers ASCII), else
 * windows-1252, the legacy encoding browsers assume, rather than leaving the browser to guess.
 */
export function textCharset(body: Buffer, declared: string | undefined): string {
  if (declared !== undefined && CHARSET_NAME.test(declared)) return declared.toLowerCase();
  return isUtf8(body) ? 'utf-8' : 'windows-1252';
}
