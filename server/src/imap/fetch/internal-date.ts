const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function two(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/**
 * INTERNALDATE as RFC 3501 §9 `date-time`, "dd-Mon-yyyy hh:mm:ss +0000",
 * in UTC, with the day zero-padded as Dovecot writes it (the grammar also
 * allows a space). Milliseconds are dropped: IMAP dates have whole seconds.
 */
export function internalDate(ms: number): string {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  return `${two(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${String(d.getUTCFullYear()).padStart(4, '0')} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}
