// Test helper: the dpdk-testpmd processes running on the machine that carry an NSM tag; a DPDK
// client's counters read from its testpmd log; waiting for the n-th matching output line.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseStats } from '../../../src/dataplane/dpdk/testpmd.js';
import type { MeshProcess } from '../helpers/mesh.js';

export function hasTestpmd(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v dpdk-testpmd'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function dpdkProcesses(): { pid: number; tag: string; argv: string }[] {
  const out: { pid: number; tag: string; argv: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (!argv[0]?.endsWith('testpmd')) continue;
      const tag = argv[argv.indexOf('--file-prefix') + 1] ?? '';
      if (tag.startsWith('nsm-')) out.push({ pid: Number(d), tag, argv: argv.join(' ') });
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The counters (port 0) of the one memif application under a workload's runtime directory, from its testpmd log (printed once a second). */
export function appStats(runtimeDir: string): { rx: number; tx: number } {
  for (const d of readdirSync(runtimeDir)) {
    for (const f of readdirSync(join(runtimeDir, d)).filter((n) => n.endsWith('.log'))) {
      const [port] = parseStats(readFileSync(join(runtimeDir, d, f), 'utf8'));
      if (port) return { rx: port.rxPackets, tx: port.txPackets };
    }
  }
  return { rx: 0, tx: 0 };
}

/** Waits for the n-th (1-based) stdout line of `proc` matching `re`. */
export async function nthLine(proc: MeshProcess, re: RegExp, n: number, timeoutMs: number): Promise<string> {
  const start = Date.now();
  for (;;) {
    const hits = proc.lines().filter((l) => re.test(l));
    if (hits.length >= n) return hits[n - 1]!;
    if (!proc.alive) throw new Error(`${proc.name} exited before its line #${n} matching ${re}:\n${proc.tail()}`);
    if (Date.now() - start > timeoutMs) throw new Error(`${proc.name}: no line #${n} matching ${re} within ${timeoutMs} ms:\n${proc.tail()}`);
    await sleep(50);
  }
}
