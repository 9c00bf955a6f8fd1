import { decode as decodeWithCharset } from 'libmime/lib/charset';
import libqp from 'libqp';
import type { MimePart } from './part-index.js';

/** The body bytes of a part with its transfer encoding undone (RFC 2045 §6). */
export function decodeTransfer(encoded: Buffer, encoding: string): Buffer {
  switch (encoding) {
    case 'base64':
      // Node's decoder skips line breaks and stops at garbage, which is what a lenient reader wants.
      return Buffer.from(encoded.toString('latin1'), 'base64');
    case 'quoted-printable':
      return libqp.decode(encoded.toString('latin1'));
    default:
      return encoded;
  }
}

export function partBody(raw: Buffer, part: MimePart): Buffer {
  return decodeTransfer(raw.subarray(part.bodyStart, part.bodyEnd), part.encoding);
}

/**
 * Text in its declared charset to a JS string. libmime's decoder covers
 * iconv-lite's charsets plus ISO-2022-JP, and refuses UTF-7 (a known way to
 * smuggle markup past filters); unknown charsets are read as UTF-8.
 */
export function decodeCharset(bytes: Buffer, charset: string | undefined): string {
  const name = charset?.trim().toLowerCase();
  if (!name || name === 'utf-8' || name === 'us-ascii') return bytes.toString('utf8');
  return decodeWithCharset(bytes, name);
}

export function partText(raw: Buffer, part: MimePart): string {
  return decodeCharset(partBody(raw, part), part.params.charset);
}
