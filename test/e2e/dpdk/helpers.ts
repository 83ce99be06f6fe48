// Test helper: the dpdk-testpmd processes running on the machine that carry an NSM tag.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

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
