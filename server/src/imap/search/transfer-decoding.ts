import { decodeCharset } from '../../mime/decode.js';

/**
 * Base64 and quoted-printable decoding (RFC 2045 §6.7, §6.8) as Dovecot's
 * search decodes bodies, which is stricter than the MIME layer's readers: a
 * base64 body stops at its padding or at the first character outside the
 * alphabet (white space aside), keeping what came before. Searching the same
 * bytes Dovecot searches is what makes BODY and TEXT answers agree.
 */

const BASE64 = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++) BASE64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

function isBlank(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === 0x0a;
}

/** Every byte as soon as its bits are in: a cut-off group still yields its whole bytes. */
export function decodeBase64(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(Math.ceil((data.length * 3) / 4));
  let length = 0;
  let bits = 0;
  let buffered = 0;
  for (const byte of data) {
    const value = BASE64[byte]!;
    if (value < 0) {
      if (isBlank(byte)) continue;
      break;
    }
    bits = (bits << 6) | value;
    buffered += 6;
    if (buffered >= 8) {
      buffered -= 8;
      out[length++] = (bits >> buffered) & 0xff;
    }
  }
  return out.subarray(0, length);
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * Quoted-printable: `=XX` in either case, soft line breaks (`=` then blanks
 * then a line break), trailing blanks of lines dropped; a stray `=` stays.
 */
export function decodeQuotedPrintable(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  let length = 0;
  let lineStart = 0;
  for (let i = 0; i < data.length; i++) {
    const byte = data[i]!;
    if (byte === 0x0a) {
      // Trailing blanks (and the CR) before a hard break are transport padding.
      let end = length;
      while (end > lineStart && (out[end - 1] === 0x20 || out[end - 1] === 0x09 || out[end - 1] === 0x0d)) end--;
      length = end;
      if (i > 0 && data[i - 1] === 0x0d) out[length++] = 0x0d;
      out[length++] = 0x0a;
      lineStart = length;
      continue;
    }
    if (byte !== 0x3d) {
      out[length++] = byte;
      continue;
    }
    const high = hexValue(data[i + 1] ?? -1);
    const low = hexValue(data[i + 2] ?? -1);
    if (high >= 0 && low >= 0) {
      out[length++] = (high << 4) | low;
      i += 2;
      continue;
    }
    let j = i + 1;
    while (j < data.length && (data[j] === 0x20 || data[j] === 0x09)) j++;
    if (data[j] === 0x0d && data[j + 1] === 0x0a) j++;
    if (j >= data.length || data[j] === 0x0a) {
      // Soft line break: the text continues on the next line.
      i = j;
      lineStart = length;
      continue;
    }
    out[length++] = byte;
  }
  return out.subarray(0, length);
}

/** Bytes in a declared charset as text; a charset the converter cannot read is taken as UTF-8, as Dovecot does. */
export function charsetText(bytes: Buffer, charset: string | undefined): string {
  try {
    return decodeCharset(bytes, charset);
  } catch {
    return bytes.toString('utf8');
  }
}
