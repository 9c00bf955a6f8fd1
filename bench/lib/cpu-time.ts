import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second, the unit of CPU times in /proc. */
const clockTicks = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

const ticksToMs = (ticks: number): number => (ticks * 1000) / clockTicks;

/** CPU time of a process so far, user plus system, in milliseconds (to 1000 / CLK_TCK ms). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name in parentheses may hold spaces; utime and stime are fields 14
  // and 15, so the 12th and 13th after the closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ticksToMs(Number(fields[11]) + Number(fields[12]));
}

/**
 * Busy CPU time of the whole machine so far, every CPU added up, in
 * milliseconds: what other processes take shows up as the part that is
 * neither the server's nor the load client's. NaN where there is no /proc.
 */
export function machineBusyMs(): number {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    return ticksToMs(user! + nice! + system! + irq! + softirq! + steal!);
  } catch {
    return Number.NaN;
  }
}
