import { charsetText, decodeBase64 } from './transfer-decoding.js';

/**
 * A header value with its RFC 2047 encoded words decoded, read the way
 * Dovecot reads it for SEARCH and for RFC 5256 base subjects: an encoded
 * word is recognised anywhere (`=?` charset `?` encoding `?` text `?=`),
 * white space between two encoded words is dropped (RFC 2047 §6.2), text
 * outside encoded words is taken as UTF-8, and a word that does not parse is
 * kept as it is. The input is a byte string (one char per byte).
 */
export function decodeHeaderValue(bytes: string): string {
  if (!bytes.includes('=?')) return utf8(bytes);
  const out: string[] = [];
  let start = 0;
  let pos = 0;
  while (pos + 1 < bytes.length) {
    if (bytes.charCodeAt(pos) !== 0x3d || bytes.charCodeAt(pos + 1) !== 0x3f) {
      pos++;
      continue;
    }
    if (pos !== start && !isOnlyBlank(bytes, start, pos)) out.push(utf8(bytes.slice(start, pos)));
    pos += 2;
    const word = encodedWord(bytes, pos);
    if (word === null) {
      // Not an encoded word after all: its "=?" is ordinary text.
      start = pos - 2;
      continue;
    }
    out.push(word.text);
    pos = word.end;
    start = pos;
  }
  if (start !== bytes.length) out.push(utf8(bytes.slice(start)));
  return out.join('');
}

function utf8(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

function isOnlyBlank(bytes: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = bytes.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) return false;
  }
  return true;
}

/** `charset?encoding?text?=` from `pos` (just after `=?`): its text and where it ends, or null. */
function encodedWord(bytes: string, pos: number): { text: string; end: number } | null {
  const first = bytes.indexOf('?', pos);
  const second = first < 0 ? -1 : bytes.indexOf('?', first + 1);
  const third = second < 0 ? -1 : bytes.indexOf('?', second + 1);
  if (third < 0 || bytes[third + 1] !== '=') return null;
  const charset = bytes.slice(pos, first);
  const text = bytes.slice(second + 1, third);
  let decoded: Buffer;
  switch (bytes[first + 1]) {
    case 'q':
    case 'Q':
      decoded = decodeQ(text);
      break;
    case 'b':
    case 'B':
      decoded = decodeBase64(Buffer.from(text, 'latin1'));
      break;
    default:
      return null;
  }
  return { text: charsetText(decoded, charset), end: third + 2 };
}

/** RFC 2047 §4.2 "Q": `_` is a space, `=XX` a byte; a malformed `=` stays as it is. */
function decodeQ(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) {
      out.push(0x20);
    } else if (c === 0x3d && i + 2 < text.length && /^[0-9a-f]{2}$/i.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(c);
    }
  }
  return Buffer.from(out);
}
