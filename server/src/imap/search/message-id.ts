import { MORE, Rfc822Cursor } from './rfc822-cursor.js';

/**
 * Message identifiers in Message-ID, References and In-Reply-To fields
 * (RFC 5322 §3.6.4), read the way Dovecot reads them for threading: the text
 * between `<` and `>` with white space removed, when it holds an `@`; an
 * identifier with quotes or comments is parsed properly instead; anything
 * else between the brackets is skipped as invalid. Identifiers compare
 * case-sensitively (RFC 5256 §3, REFERENCES step 1(A)).
 */

/** `local@domain>` parsed token by token from `pos`; the identifier and the position after `>`. */
function tokenizedId(text: string, pos: number): { id: string; end: number } | null {
  const cursor = new Rfc822Cursor(text, pos);
  cursor.skipSpace();
  const local = cursor.peek() === '"' ? cursor.quoted() : cursor.dotAtom();
  if (!local || cursor.skipSpace() !== MORE || cursor.peek() !== '@') return null;
  cursor.pos++;
  cursor.skipSpace();
  const domain = cursor.dotAtom();
  if (!domain || cursor.skipSpace() !== MORE || cursor.peek() !== '>') return null;
  return { id: `${local}@${domain}`, end: cursor.pos + 1 };
}

/** The next valid identifier at or after `pos`, and where reading continues; null when there is none. */
function nextId(text: string, from: number): { id: string; end: number } | null {
  let pos = from;
  for (;;) {
    const open = text.indexOf('<', pos);
    if (open < 0) return null;
    pos = open + 1;
    let p = pos;
    let at = false;
    for (; p < text.length; p++) {
      const c = text.charCodeAt(p);
      if (c >= 0x41) continue;
      if (c === 0x40) at = true;
      if (c === 0x3e || c === 0x22 || c === 0x28) break;
      if (c === 0) return null;
    }
    if (p >= text.length) return null;
    if (text.charCodeAt(p) === 0x3e) {
      pos = p + 1;
      if (at) return { id: text.slice(open + 1, p).replace(/[ \t\r\n]+/g, ''), end: pos };
      continue;
    }
    // A quote or comment inside: read it properly, or skip this "<".
    const parsed = tokenizedId(text, pos);
    if (parsed !== null) return parsed;
  }
}

/** Every valid identifier in a field value, in order. */
export function messageIds(value: string): string[] {
  const ids: string[] = [];
  for (let next = nextId(value, 0); next !== null; next = nextId(value, next.end)) ids.push(next.id);
  return ids;
}

/** The first valid identifier in a field value, or null. */
export function firstMessageId(value: string): string | null {
  return nextId(value, 0)?.id ?? null;
}
