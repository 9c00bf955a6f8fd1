import { isUtf8 } from 'node:buffer';
import libmime from 'libmime';

export interface HeaderField {
  /** Name as written (case kept). */
  name: string;
  /** Name in lower case, for lookups. */
  key: string;
  /** Unfolded value with the leading white space removed; encoded words are left as they are. */
  value: string;
}

const LINE_BREAK = /\r?\n/;
const SP = 0x20;
const TAB = 0x09;

/**
 * Header bytes are supposed to be ASCII, but SMTPUTF8 mail carries UTF-8 and
 * broken mailers send Latin-1; read UTF-8 when it is valid and Latin-1 otherwise,
 * so no byte is ever lost to a replacement character.
 */
function headerText(bytes: Buffer): string {
  return isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1');
}

/**
 * Splits a header block into fields, in order, unfolding continuation lines
 * (RFC 5322 §2.2.3). Lines without a colon that are not continuations are
 * dropped, as careful mail clients do with garbage in the header.
 */
export function parseHeaderFields(block: Buffer): HeaderField[] {
  const fields: HeaderField[] = [];
  let current: string | null = null;
  for (const line of headerText(block).split(LINE_BREAK)) {
    if (line === '') continue;
    const first = line.charCodeAt(0);
    if ((first === SP || first === TAB) && current !== null) {
      current += line;
    } else {
      if (current !== null) pushField(fields, current);
      current = line;
    }
  }
  if (current !== null) pushField(fields, current);
  return fields;
}

function pushField(fields: HeaderField[], line: string): void {
  const colon = line.indexOf(':');
  if (colon <= 0) return;
  const name = line.slice(0, colon).trim();
  if (name === '' || /[\s\x00-\x1f]/.test(name)) return;
  fields.push({ name, key: name.toLowerCase(), value: line.slice(colon + 1).trim() });
}

/** The first field with this name (case-insensitive), as RFC 5322 readers take it. */
export function firstHeader(fields: readonly HeaderField[], lowerName: string): string | undefined {
  for (const field of fields) if (field.key === lowerName) return field.value;
  return undefined;
}

/**
 * A copy of a string that shares no memory with the header it was cut from.
 * V8 keeps a whole parent string alive for any slice of it, so values kept in
 * the store are copied once, small.
 */
export function detach(text: string): string {
  return text.length < 13 ? text : Buffer.from(text, 'utf8').toString('utf8');
}

/** RFC 2047 encoded words to text; malformed words are left as they are. */
export function decodeWords(value: string): string {
  if (!value.includes('=?')) return value;
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}
