// CPU time and peak RSS of a set of mesh processes (and their children) for the scale phases: CPU read from
// /proc/PID/stat, RSS sampled on an interval by treeRssKiB.
import { readFileSync, readdirSync } from 'node:fs';

/** CPU seconds (user + system, plus reaped children's) of a process so far; 0 when gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14-17 of stat (utime, stime, cutime, cstime), in clock ticks of 10 ms.
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return 0;
  }
}

/** Sum of cpuSeconds over `pids`. */
export const cpuSum = (pids: number[]) => pids.reduce((s, p) => s + cpuSeconds(p), 0);

/** Samples the summed tree RSS of `pids` every `everyMs`; stop() returns the peak (KiB). */
export function rssPeak(pids: number[], everyMs = 1000): { stop: () => number } {
  let peak = treeRssKiB(pids);
  const timer = setInterval(() => (peak = Math.max(peak, treeRssKiB(pids))), everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, treeRssKiB(pids));
    },
  };
}

/** The 1-minute load average. */
export const loadAvg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** utime+stime(+reaped children) of a process and its live descendants, in clock ticks (10 ms). */
export function treeTicks(pid: number): number {
  let total: number;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
    total = Number(x[11]) + Number(x[12]) + Number(x[13]) + Number(x[14]);
  } catch {
    return 0;
  }
  let kids: string[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    /* none */
  }
  for (const k of kids) total += treeTicks(Number(k));
  return total;
}

/** RSS (KiB) of one process; 0 when gone. */
export function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
/** RSS (KiB) of processes and all their descendants (e.g. a forwarder's ip -batch channels). */
export function treeRssKiB(roots: number[]): number {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      (children.get(ppid) ?? children.set(ppid, []).get(ppid)!).push(Number(e));
    } catch {
      // exited
    }
  }
  let sum = 0;
  const stack = [...roots];
  while (stack.length) {
    const p = stack.pop()!;
    sum += rssKiB(p);
    stack.push(...(children.get(p) ?? []));
  }
  return sum;
}
