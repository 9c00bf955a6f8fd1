/** A name a browser can save under: no path, no control characters, not empty. */
export function safeFilename(filename: string | null, fallback: string): string {
  const base = (filename ?? '').split(/[/\\]/).pop()!.replace(/[\x00-\x1f\x7f]/g, '_').trim().slice(0, 200);
  return base === '' || base === '.' || base === '..' ? fallback : base;
}
