/** System flags in the order Dovecot lists them; RFC 3501 §2.3.2 sets none. */
const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'] as const;

/**
 * The FLAGS list (RFC 3501 §7.4.2), without the parentheses: system flags
 * first in a fixed order, then \Recent when this session sees the message as
 * recent (RFC 3501 §2.3.2), then keywords in the order the message got them.
 * Only the five system flags above exist; any other name with a backslash
 * is not a flag a message can hold, and is left out.
 */
export function flagList(flags: ReadonlySet<string>, recent: boolean): string {
  let out = '';
  for (const flag of SYSTEM_FLAGS) if (flags.has(flag)) out += out === '' ? flag : ` ${flag}`;
  if (recent) out += out === '' ? '\\Recent' : ' \\Recent';
  for (const flag of flags) if (flag.charCodeAt(0) !== 0x5c) out += out === '' ? flag : ` ${flag}`;
  return out;
}
