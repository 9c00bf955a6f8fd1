import type { ImapAtom, ImapValue } from '../wire/types.js';
import { asciiUpper } from './ascii.js';
import { isShort, type FetchItem, type FetchRequest, type LongItem, type ShortItem } from './items.js';
import { parseSection } from './parse-section.js';

/** RFC 3501 §6.4.5 macros; only valid alone, never inside a list. */
const MACROS: ReadonlyMap<string, readonly (ShortItem | LongItem)[]> = new Map([
  ['ALL', ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE']],
  ['FAST', ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE']],
  ['FULL', ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY']],
]);

const PLAIN_ITEMS: ReadonlySet<string> = new Set<ShortItem | LongItem>([
  'UID',
  'FLAGS',
  'INTERNALDATE',
  'RFC822.SIZE',
  'ENVELOPE',
  'BODY',
  'BODYSTRUCTURE',
  'RFC822',
  'RFC822.HEADER',
  'RFC822.TEXT',
]);

/** One fetch-att atom as an item, or the text of a tagged BAD. */
function parseItem(atom: ImapAtom): FetchItem | string {
  const name = asciiUpper(atom.value);
  if (atom.section !== undefined && (name === 'BODY' || name === 'BODY.PEEK')) return parseSection(atom, name === 'BODY.PEEK', atom.section);
  // A section or partial on anything else (BINARY[...] of RFC 3516 among
  // them, which Mailroom does not offer) makes an unknown item.
  if (atom.section !== undefined || atom.partial !== undefined || !PLAIN_ITEMS.has(name)) {
    return `Unknown parameter: ${atom.section === undefined ? name : `${name}[...]`}`;
  }
  return { kind: name as ShortItem | LongItem };
}

/**
 * The items of one FETCH (RFC 3501 §6.4.5), from the arguments after the
 * sequence set: a macro or one item as an atom, or a parenthesised list of
 * items. Returns the text for a tagged BAD when they are not valid, in
 * Dovecot's words (it sends `BAD Error in IMAP command FETCH: <text>.`).
 *
 * Dovecot also accepts anything after a known name (`BODYSTRUCTURE.PEEK`,
 * `UID.X`) and BINARY (RFC 3516), which Mailroom does not advertise; both
 * are refused here, as RFC 3501's grammar has it.
 */
export function parseFetch(args: readonly ImapValue[]): FetchRequest | { error: string } {
  const [arg] = args;
  if (args.length !== 1 || arg === undefined || arg.type === 'string') return { error: 'Invalid arguments' };
  let atoms: readonly ImapValue[];
  if (arg.type === 'atom') {
    const macro = arg.section === undefined && arg.partial === undefined ? MACROS.get(asciiUpper(arg.value)) : undefined;
    atoms = macro ? macro.map((value): ImapAtom => ({ type: 'atom', value })) : [arg];
  } else {
    if (arg.items.length === 0) return { error: 'FETCH list is empty' };
    atoms = arg.items;
  }
  const short: FetchItem[] = [];
  const long: FetchItem[] = [];
  const seen = new Set<string>();
  let setsSeen = false;
  for (const atom of atoms) {
    if (atom.type !== 'atom') return { error: 'FETCH list contains non-atoms' };
    const item = parseItem(atom);
    if (typeof item === 'string') return { error: item };
    if (item.kind === 'BODY[]') {
      setsSeen ||= !item.peek;
      long.push(item);
      continue;
    }
    if (seen.has(item.kind)) continue;
    seen.add(item.kind);
    // RFC 3501 §6.4.5: RFC822 and RFC822.TEXT are BODY[] and BODY[TEXT], which set \Seen.
    setsSeen ||= item.kind === 'RFC822' || item.kind === 'RFC822.TEXT';
    (isShort(item) ? short : long).push(item);
  }
  return { items: [...short, ...long], setsSeen };
}
