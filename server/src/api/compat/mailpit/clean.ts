/** Go's unicode.IsSpace: JavaScript's \s without U+FEFF, plus U+0085. */
const GO_SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const GO_SPACES = new RegExp(`[${GO_SPACE}]+`);
const ONE_SPACE = new RegExp(`^[${GO_SPACE}]$`);
/** What Mailpit's cleanString turns into spaces before collapsing white space. */
const PUNCTUATION = /\uFEFF|\r?\n|[\t<>",;()]/g;

/** Go's strings.TrimSpace. */
export function goTrimSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && ONE_SPACE.test(text[start]!)) start += 1;
  while (end > start && ONE_SPACE.test(text[end - 1]!)) end -= 1;
  return text.slice(start, end);
}

/**
 * Mailpit's cleanString, applied to its stored search text and to most search values: line
 * breaks, tabs and `<>",;()` become spaces, white space collapses to one space, and the result
 * is lower case.
 */
export function cleanString(text: string): string {
  return text.replace(PUNCTUATION, ' ').split(GO_SPACES).filter((word) => word !== '').join(' ').toLowerCase();
}
