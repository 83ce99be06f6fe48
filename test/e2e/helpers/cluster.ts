// Helpers for e2e tests that drive whole meshes through the CLI (`nsm up/status/down`):
// run `nsm`, list a test's namespaces, and tell whether a process still runs.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ROOT } from './mesh.js';

/** Runs `node bin/nsm.js ARGS` to completion. */
export function nsm(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/nsm.js', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Named network namespaces whose name starts with `prefix`. */
export const netnsWith = (prefix: string): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(prefix));

/** Running (not a zombie waiting to be reaped). */
export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z');
  } catch {
    return false;
  }
};
