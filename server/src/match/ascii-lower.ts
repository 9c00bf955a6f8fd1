/** ASCII-only lower case, as strcasecmp() and SQLite's LIKE compare: other letters stay as they are. */
export function asciiLower(text: string): string {
  return /[A-Z]/.test(text) ? text.replace(/[A-Z]+/g, (s) => s.toLowerCase()) : text;
}
