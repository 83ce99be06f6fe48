// One component process: spawned detached inside its namespace (`ip netns exec NS node bin/nsm.js ...`)
// with stdout to logs/<name>.out and stderr to logs/<name>.log; liveness by pid + kernel start time.
import { spawn } from 'node:child_process';
import { closeSync, fchmodSync, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NSM_BIN } from './paths.js';
import type { ComponentPlan, MeshPlan } from './mesh-plan.js';
import type { ProcState } from './state.js';

export const outFile = (p: MeshPlan, c: string) => join(p.logDir, `${c}.out`);
const logFile = (p: MeshPlan, c: string) => join(p.logDir, `${c}.log`);

/** Kernel start time of a pid, or undefined when it is gone or a zombie. */
export function procStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

export function isAlive(p: { pid: number; startTime: number } | undefined): boolean {
  return p !== undefined && procStartTime(p.pid) === p.startTime;
}

/** Starts a component; its stdout file is truncated so it only holds this life's output. */
export function spawnComponent(plan: MeshPlan, c: ComponentPlan, restarts: number): ProcState {
  // Logs carry connection ids and addresses: owner and group only (0640).
  const out = openSync(outFile(plan, c.name), 'w', 0o640);
  const err = openSync(logFile(plan, c.name), 'a', 0o640);
  fchmodSync(out, 0o640);
  fchmodSync(err, 0o640);
  try {
    const argv = c.exec ? [c.exec, ...c.args] : [process.execPath, NSM_BIN, ...c.args];
    const child = spawn('ip', ['netns', 'exec', c.netns, ...argv], {
      detached: true,
      stdio: ['ignore', out, err],
      env: c.exec ? withoutEtcdEnv() : { ...process.env, NSM_LOG_LEVEL: process.env.NSM_LOG_LEVEL ?? 'info' },
    });
    child.on('error', () => {});
    child.unref();
    if (child.pid === undefined) throw new Error(`cannot start ${c.name}`);
    return { pid: child.pid, startTime: procStartTime(child.pid) ?? 0, restarts, startedAt: new Date().toISOString() };
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

/** The environment without ETCD_* variables: etcd refuses to start when one shadows a flag. */
function withoutEtcdEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_')));
}

/** Resolves with the first stdout line once the process printed it; rejects when it dies or times out. */
export async function waitReady(plan: MeshPlan, name: string, proc: ProcState, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(outFile(plan, name), 'utf8').catch(() => '');
    const nl = text.indexOf('\n');
    if (nl >= 0) return text.slice(0, nl);
    if (!isAlive(proc)) throw new Error(`${name} exited: ${await lastLogLine(plan, name)}`);
    if (Date.now() > deadline) throw new Error(`${name} not ready after ${timeoutMs / 1000}s: ${await lastLogLine(plan, name)}`);
    await sleep(50);
  }
}

/** The last line of a component's log (its message field for pino JSON), for error reports. */
export async function lastLogLine(plan: MeshPlan, name: string): Promise<string> {
  const text = await readFile(logFile(plan, name), 'utf8').catch(() => '');
  const last = text.trim().split('\n').pop() ?? '';
  try {
    const j = JSON.parse(last) as { msg?: string; err?: unknown };
    return [j.msg, typeof j.err === 'string' ? j.err : (j.err as { message?: string } | undefined)?.message].filter(Boolean).join(': ') || last;
  } catch {
    return last || `(no output; see ${logFile(plan, name)})`;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
