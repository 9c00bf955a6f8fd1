import { asciiLower } from '../../match/ascii-lower.js';

/**
 * One header field as Dovecot's header parser hands it to SEARCH (its
 * "clean one-line" mode): the name without the blanks before the colon, the
 * separator, and the value unfolded (RFC 5322 §2.2.3) with a tab that starts
 * a continuation line read as a space. All three are byte strings (one char
 * per byte). A line without a colon is a field whose name is the whole line.
 */
export interface HeaderLine {
  readonly name: string;
  /** Blanks before the colon, the colon, and at most one blank after it. */
  readonly middle: string;
  readonly value: string;
}

/** The fields of the header block raw[start, end), up to its empty line. */
export function headerLines(raw: Buffer, start: number, end: number): HeaderLine[] {
  const lines = raw.toString('latin1', start, end).split('\n');
  const fields: HeaderLine[] = [];
  let current: { name: string; middle: string; value: string } | null = null;
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const first = line.charCodeAt(0);
    if (current !== null && (first === 0x20 || first === 0x09)) {
      current.value += first === 0x09 ? ` ${line.slice(1)}` : line;
      continue;
    }
    if (current !== null) fields.push(current);
    current = null;
    // The empty line ends the header; so does the end of the data.
    if (line === '') break;
    current = splitField(line);
  }
  if (current !== null) fields.push(current);
  return fields;
}

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

function splitField(line: string): { name: string; middle: string; value: string } {
  const colon = line.indexOf(':');
  if (colon < 0) return { name: line, middle: '', value: '' };
  let nameEnd = colon;
  while (nameEnd > 0 && isBlank(line.charCodeAt(nameEnd - 1))) nameEnd--;
  const valueStart = isBlank(line.charCodeAt(colon + 1)) ? colon + 2 : colon + 1;
  return { name: line.slice(0, nameEnd), middle: line.slice(nameEnd, valueStart), value: line.slice(valueStart) };
}


/** The value of the first field with this (lower-case) name, or undefined. */
export function firstValue(fields: readonly HeaderLine[], lowerName: string): string | undefined {
  for (const field of fields) if (field.name.length === lowerName.length && asciiLower(field.name) === lowerName) return field.value;
  return undefined;
}
