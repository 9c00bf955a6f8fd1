import { decode as decodeWithCharset } from 'libmime/lib/charset';
import libqp from 'libqp';
import type { MimePart } from './part-index.js';

/** The body bytes of a part with its transfer encoding undone (RFC 2045 §6). */
function decodeTransfer(encoded: Buffer, encoding: string): Buffer {
  switch (encoding) {
    case 'base64':
      // Characters outside the alphabet are ignored (RFC 2045 §6.8), padding included, so damaged or unpadded data still decodes.
      return Buffer.from(encoded.toString('latin1').replace(/[^A-Za-z0-9+/]+/g, ''), 'base64');
    case 'quoted-printable':
      return libqp.decode(encoded.toString('latin1'));
    case 'x-uuencode':
    case 'uuencode':
    case 'x-uue':
      return uudecode(encoded);
    default:
      return encoded;
  }
}

/**
 * uuencoded data between "begin" and "end" lines, as old mailers sent
 * attachments: each line starts with its decoded length, then four
 * characters per three bytes, each character 0x20 + six bits.
 */
function uudecode(encoded: Buffer): Buffer {
  const lines = encoded.toString('latin1').split(/\r?\n/);
  const begin = lines.findIndex((line) => /^begin\s/.test(line));
  if (begin < 0) return encoded;
  const out: number[] = [];
  for (const line of lines.slice(begin + 1)) {
    if (line === 'end' || line === '') break;
    const length = (line.charCodeAt(0) - 32) & 63;
    const sextet = (i: number): number => ((line.charCodeAt(i) || 32) - 32) & 63;
    for (let i = 1, produced = 0; produced < length; i += 4) {
      const [a, b, c, d] = [sextet(i), sextet(i + 1), sextet(i + 2), sextet(i + 3)];
      for (const byte of [(a << 2) | (b >> 4), ((b & 15) << 4) | (c >> 2), ((c & 3) << 6) | d]) {
        if (produced++ < length) out.push(byte & 255);
      }
    }
  }
  return Buffer.from(out);
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
