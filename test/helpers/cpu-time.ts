/**
 * Runs `fn` and measures the CPU time this process spent on it, in ms. Test
 * files run side by side on few cores, so wall time measures the machine's
 * load as much as the code; CPU time measures the code.
 */
export function cpuTime<T>(fn: () => T): { result: T; ms: number } {
  const before = process.cpuUsage();
  const result = fn();
  const used = process.cpuUsage(before);
  return { result, ms: (used.user + used.system) / 1000 };
}

/** As cpuTime, for work that awaits: the count is the whole process's, so it is the work's only while nothing else runs meanwhile. */
export async function cpuTimeAsync<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const before = process.cpuUsage();
  const result = await fn();
  const used = process.cpuUsage(before);
  return { result, ms: (used.user + used.system) / 1000 };
}
