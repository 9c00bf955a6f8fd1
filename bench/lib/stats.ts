/** Nearest-rank percentile of unsorted samples; `p` from 0 to 100. */
export function percentile(samples: ArrayLike<number>, p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function formatInt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function formatMs(value: number): string {
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}

export function formatBytes(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1024 * 1024) return `${(value / (1024 * 1024)).toFixed(1)} MiB`;
  return `${formatInt(value)} B`;
}

export function formatPercent(fraction: number, signed = true): string {
  if (Number.isNaN(fraction)) return 'n/a';
  return `${signed && fraction >= 0 ? '+' : ''}${(fraction * 100).toFixed(1)}%`;
}
