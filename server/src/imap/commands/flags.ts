import type { ImapValue } from '../wire/types.js';
import { bad } from './command.js';

/** The system flags a client may set (RFC 3501 §2.3.2); \Recent is the server's alone. */
const SETTABLE = new Map(['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'].map((f) => [f.toLowerCase(), f]));
/** RFC 3501 §9 flag-keyword: an atom; Dovecot's limit on its length keeps hostile keywords small. */
const KEYWORD = /^[^\s(){%*"\\\]\x00-\x1f\x7f]{1,128}$/;

/** A flag list or single flag, canonical spelling for system flags; BAD for \Recent or unknown system flags. */
export function parseFlags(value: ImapValue): string[] {
  const items = value.type === 'list' ? value.items : [value];
  const flags = new Set<string>();
  for (const item of items) {
    if (item.type !== 'atom' || item.section !== undefined) throw bad('Flags are atoms');
    const text = item.value;
    if (text.startsWith('\\')) {
      const system = SETTABLE.get(text.toLowerCase());
      if (system === undefined) throw bad(`Invalid system flag ${text}`);
      flags.add(system);
    } else if (KEYWORD.test(text)) flags.add(text);
    else throw bad(`Invalid keyword ${text}`);
  }
  return [...flags];
}
