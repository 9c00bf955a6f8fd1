import type { ImapAtom, ImapValue } from '../wire/types.js';
import type { SectionItem, SectionText } from './items.js';
import { asciiUpper } from './ascii.js';

/**
 * `BODY[section]<partial>` and `BODY.PEEK[...]` (RFC 3501 §6.4.5, `section`
 * in §9), read the way Dovecot reads them, so that the same request gets the
 * same answer: the section is upper-cased, a part number is any run of
 * digits and dots (`01` and `0` included, numbers wrapping at 2^32 as
 * Dovecot's unsigned int does), and header names are upper-cased.
 */

const INVALID_SECTION = 'Invalid BODY[..] section';
const MISSING_BRACKET = "Invalid BODY[..] parameter: Missing ']'";
const UINT32 = 0x1_0000_0000;

interface Spec {
  part: number[];
  text: SectionText;
}

/** Part number digits, wrapped to 32 bits. */
function partNumbers(digits: string): number[] {
  return digits.split('.').map((group) => {
    let n = 0;
    for (let i = 0; i < group.length; i++) n = (n * 10 + group.charCodeAt(i) - 48) % UINT32;
    return n;
  });
}

/** The part number and section-text of an upper-cased section spec, or null when it is not one. */
function parseSpec(spec: string, withFields: boolean): Spec | null {
  // Digits and single dots, as far as they go: `1.2.` then the text.
  let i = 0;
  let digitNext = true;
  for (; i < spec.length; i++) {
    const c = spec.charCodeAt(i);
    if (c >= 48 && c <= 57) digitNext = false;
    else if (c === 46 && !digitNext) digitNext = true;
    else break;
  }
  let part: number[] = [];
  let rest = spec;
  if (i > 0) {
    if (spec.charCodeAt(i - 1) !== 46) {
      if (i < spec.length) return null; // `1HEADER`
      part = partNumbers(spec);
      rest = '';
    } else {
      if (i === spec.length) return null; // `1.`
      part = partNumbers(spec.slice(0, i - 1));
      rest = spec.slice(i);
    }
  }
  if (withFields) return rest === 'HEADER.FIELDS' || rest === 'HEADER.FIELDS.NOT' ? { part, text: rest } : null;
  switch (rest) {
    case '':
    case 'HEADER':
    case 'TEXT':
      return { part, text: rest };
    case 'MIME':
      // RFC 3501 §6.4.5: MIME only follows a part number.
      return part.length > 0 ? { part, text: rest } : null;
    default:
      return null;
  }
}

/**
 * A header-list entry as Dovecot spells it back: an atom upper-cased as is
 * (but NIL quoted), a string upper-cased and quoted, with CR, LF and 8-bit
 * bytes dropped (they cannot be quoted) and cut at a NUL (Dovecot's C
 * strings end there). `name` is what fields are matched against: the
 * spelled text read back, as Dovecot does.
 */
function headerName(value: ImapValue): { spelled: string; name: string } | null {
  if (value.type === 'atom') {
    if (value.section !== undefined || value.partial !== undefined) return null;
    const name = asciiUpper(value.value);
    // Dovecot's parser reads NIL as nil, not as an atom, and spells it back quoted.
    return { spelled: name === 'NIL' ? '"NIL"' : name, name };
  }
  if (value.type !== 'string') return null;
  let text = value.value.toString('latin1');
  const nul = text.indexOf('\0');
  if (nul >= 0) text = text.slice(0, nul);
  const name = asciiUpper(text.replace(/[\r\n\x80-\xff]/g, ''));
  return { spelled: `"${name.replace(/["\\]/g, '\\$&')}"`, name };
}

/** A BODY or BODY.PEEK atom that carries a section, as an item; or the text of a tagged BAD. */
export function parseSection(atom: ImapAtom, peek: boolean, section: readonly ImapValue[]): SectionItem | string {
  const [first, list, ...extra] = section;
  if (extra.length > 0) return MISSING_BRACKET;
  let specText = '';
  if (first !== undefined) {
    if (first.type !== 'atom' || first.section !== undefined || first.partial !== undefined) return INVALID_SECTION;
    specText = asciiUpper(first.value);
  }
  let spelled = specText;
  const fields: string[] = [];
  if (list !== undefined) {
    if (list.type !== 'list') return MISSING_BRACKET;
    const names: string[] = [];
    for (const value of list.items) {
      const header = headerName(value);
      if (header === null) return 'Invalid BODY[..] parameter: Header list contains non-strings';
      names.push(header.spelled);
      fields.push(header.name);
    }
    // RFC 3501 §9: header-list = "(" header-fld-name *(SP header-fld-name) ")"
    if (fields.length === 0) return INVALID_SECTION;
    spelled += ` (${names.join(' ')})`;
  }
  const spec = parseSpec(specText, list !== undefined);
  if (spec === null) return INVALID_SECTION;

  const { partial } = atom;
  let label = `BODY[${spelled}]`;
  if (partial !== undefined) {
    if (!Number.isSafeInteger(partial.start) || partial.start < 0) return 'Invalid BODY[..] parameter: Too big partial start';
    if (!Number.isSafeInteger(partial.length) || partial.length < 0) return 'Invalid BODY[..] parameter: Too big partial end';
    // The response names the start only (RFC 3501 §7.4.2 BODY[<section>]<<origin octet>>).
    label += `<${partial.start}>`;
  }
  return {
    kind: 'BODY[]',
    peek,
    part: spec.part,
    text: spec.text,
    fields,
    partial: partial === undefined ? null : { start: partial.start, length: partial.length },
    label,
  };
}
