const MiB = 1024 * 1024;

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: MiB,
  mb: 1000 ** 2,
  mib: MiB,
  g: 1024 * MiB,
  gb: 1000 ** 3,
  gib: 1024 * MiB,
};

/**
 * Whole bytes in a size such as `1048576`, `512KiB`, `25MiB`, `1.5G` or `2 GB` (KB, MB, GB are
 * powers of 1000; K, KiB, M, MiB, G, GiB powers of 1024); undefined when the text is not one.
 * Shared by the size flags and the size threshold of SMTP reject rules; callers check the range
 * (the result may exceed Number.MAX_SAFE_INTEGER).
 */
export function sizeInBytes(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) return undefined;
  return Math.floor(Number(match[1]) * unit);
}
