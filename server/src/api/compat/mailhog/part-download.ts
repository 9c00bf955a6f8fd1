import { trimChars } from '../../../match/trim-chars.js';
import { byteString } from '../go-values.js';
import type { Content } from './message.js';

/**
 * The MIME fields (RFC 2045, 2183, 3282) a part download copies from the
 * part onto the response, under Go's canonical spelling. MailHog copies every
 * field of the part, but a captured message is untrusted and the response
 * comes from Mailroom's origin: a Set-Cookie, Refresh, CORS or CSP field from
 * mail would act on it, and a Content-Length or Transfer-Encoding would break
 * the response's framing. These are the ones a download means.
 */
const COPIED = new Map(
  ['Content-Type', 'Content-Transfer-Encoding', 'Content-Disposition', 'Content-Id', 'Content-Description', 'Content-Language', 'Content-Md5'].map(
    (name) => [name.toLowerCase(), name],
  ),
);

/**
 * Response headers for a part as MailHog's download_part sets them: a
 * Content-Disposition naming `<id>-part-<n>`, replaced by the part's own if it
 * has one, then the part's fields. Values are Go strings (latin1), as Node
 * writes them byte for byte; control characters, which Node refuses in a
 * header, become spaces as Go's server does with line breaks.
 */
export function partHeaders(part: Content, id: string, index: string): Map<string, string[]> {
  const headers = new Map<string, string[]>([['Content-Disposition', [headerValue(`attachment; filename="${byteString(id)}-part-${byteString(index)}"`)]]]);
  for (const [name, values] of part.Headers) {
    const canonical = COPIED.get(name.toLowerCase());
    if (canonical === undefined) continue;
    const cleaned = values.map(headerValue);
    if (canonical === 'Content-Disposition') headers.set(canonical, cleaned.slice(-1));
    else headers.set(canonical, [...(headers.get(canonical) ?? []), ...cleaned]);
  }
  return headers;
}

/**
 * The part's body as MailHog serves it: base64 decoded when its
 * Content-Transfer-Encoding says base64, any other encoding left as it is
 * (quoted-printable stays encoded). Node's base64 decoder skips what Go's
 * strict one would stop at; mailers' base64 reads the same in both.
 */
export function partBody(part: Content): Buffer {
  // Go takes the field in any spelling, whichever its map iteration meets first.
  const encoding = [...part.Headers].find(([name]) => name.toLowerCase() === 'content-transfer-encoding')?.[1][0];
  return encoding?.toLowerCase() === 'base64' ? Buffer.from(part.Body.toString('latin1'), 'base64') : part.Body;
}

/**
 * strconv.Atoi as download_part uses it, ignoring the error: text that is not
 * a number is part 0, a number out of range names no part.
 */
export function partIndex(text: string): number {
  return /^[+-]?\d+$/.test(text) ? Number(text) : 0;
}

/** Go's server writes line breaks in a value as spaces and trims spaces and tabs (not latin1's 0xA0, a UTF-8 continuation byte here). */
function headerValue(value: string): string {
  return trimChars(value.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, ' '), ' \t');
}
