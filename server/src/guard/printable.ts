/**
 * Client text echoed in a reply line, with every byte a line may not carry
 * (controls, CR and LF among them) and everything outside printable ASCII
 * shown as `?`: a protocol line must not be split or forged by what the
 * client sent, and mail protocols' reply texts are ASCII.
 */
export function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}
