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
