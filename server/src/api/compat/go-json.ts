/**
 * JSON as Go's encoding/json writes it, which Mailpit and MailHog clients are
 * written against: `<`, `>` and `&` escaped as \u003c, \u003e and \u0026, and
 * U+2028/U+2029 escaped, as Go's HTML-safe encoder does. Mailpit writes with
 * json.Encoder, which ends the body with a newline; MailHog with json.Marshal,
 * which does not.
 */
export function goJson(value: unknown, { newline }: { newline: boolean }): string {
  const text = JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return newline ? `${text}\n` : text;
}

/**
 * Go's time.Time in RFC 3339 with nanoseconds, as both servers print times: the fraction without
 * trailing zeros (none at all on a whole second), `Z` for UTC. Mailroom keeps milliseconds.
 */
export function goTime(epochMs: number): string {
  const iso = new Date(epochMs).toISOString();
  return iso.replace(/\.(\d{3})Z$/, (_, ms: string) => (ms === '000' ? 'Z' : `.${ms.replace(/0+$/, '')}Z`));
}
