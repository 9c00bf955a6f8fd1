/**
 * `text` without any of `chars` at either end, as Go's strings.Trim. A loop, since a regular
 * expression anchored at the end is quadratic over a long run of them.
 */
export function trimChars(text: string, chars: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && chars.includes(text[start]!)) start += 1;
  while (end > start && chars.includes(text[end - 1]!)) end -= 1;
  return text.slice(start, end);
}
