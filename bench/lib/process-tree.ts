import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Kernel clock ticks per second, the unit of CPU times in /proc. */
const clockTicks = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface Stat {
  ppid: number;
  /** utime + stime + cutime + cstime, in ticks: its own CPU and that of its children it has reaped. */
  ticks: number;
}

function readStat(pid: string): Stat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may hold spaces; ppid is field 4 and utime to
    // cstime are fields 14 to 17, so the 2nd and the 12th to 15th after the parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return { ppid: fields[1]!, ticks: fields[11]! + fields[12]! + fields[13]! + fields[14]! };
  } catch {
    // Gone between listing and reading.
    return null;
  }
}

/**
 * CPU time of a process and all its descendants so far, in milliseconds:
 * here the benchmark itself, the Mailroom child and every Chromium process.
 * Descendants that have exited and been reaped (a closed page's renderer)
 * still count, through their parent's children times. NaN without /proc.
 */
export function treeCpuMs(root: number = process.pid): number {
  let names: string[];
  try {
    names = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return Number.NaN;
  }
  const stats = new Map<number, Stat>();
  for (const name of names) {
    const stat = readStat(name);
    if (stat) stats.set(Number(name), stat);
  }
  const children = new Map<number, number[]>();
  for (const [pid, stat] of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  let ticks = 0;
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    ticks += stats.get(pid)?.ticks ?? 0;
    pending.push(...(children.get(pid) ?? []));
  }
  return (ticks * 1000) / clockTicks;
}
