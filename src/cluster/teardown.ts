// Stops a mesh: the supervisor first (it must not restart anything), then clients (so connections
// close), then everything else (the local etcd last); SIGKILL after a grace period; then
// namespaces, sockets and run dir (with the etcd data), or all of it but logs/ after a failed start.
import { stopTestpmdUnder } from '../dataplane/dpdk/supervisor.js';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { stopContainers } from './containers.js';
import { sweepVms } from './vms.js';
import { deleteNetworks } from './networks.js';
import { planNamespaces } from './plan.js';
import { isAlive, sleep } from './proc.js';
import { writeState, type MeshState, type ProcState } from './state.js';

export interface TeardownReport {
  stopped: string[];
  killed: string[];
  namespaces: string[];
  containers: string[];
}

/** Sends SIGTERM, waits up to `graceMs`, then SIGKILLs the process group. Returns 'stopped' | 'killed' | 'gone'. */
export async function stopProcess(p: { pid: number; startTime: number }, graceMs: number): Promise<'stopped' | 'killed' | 'gone'> {
  if (!isAlive(p)) return 'gone';
  try {
    process.kill(p.pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(p)) {
      killGroup(p.pid);
      return 'stopped';
    }
    await sleep(50);
  }
  killGroup(p.pid);
  try {
    process.kill(p.pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
  return 'killed';
}

/** Leftover helpers (e.g. `ip -batch` channels) share the component's process group. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // no such group
  }
}

export interface TeardownOptions {
  /** SIGTERM -> SIGKILL grace per process (ms). */
  graceMs?: number;
  /** Keep `logs/` of the run dir (a failed or interrupted start): removed by the next `nsm up` of the name or `nsm down NAME`. */
  keepLogs?: boolean;
}

export async function teardown(state: MeshState, log: Logger, opts: TeardownOptions = {}): Promise<TeardownReport> {
  const graceMs = opts.graceMs ?? 5000;
  const report: TeardownReport = { stopped: [], killed: [], namespaces: [], containers: [] };
  const p = state.plan;
  if (state.phase !== 'stopping') {
    state.phase = 'stopping';
    await writeState(state).catch(() => undefined);
  }
  const stopAll = async (names: string[]) => {
    await Promise.all(
      names.map(async (name) => {
        const proc: ProcState | undefined = state.procs[name];
        if (!proc) return;
        const r = await stopProcess(proc, graceMs);
        if (r === 'stopped') report.stopped.push(name);
        if (r === 'killed') report.killed.push(name);
        log.info({ component: name, result: r }, 'component stopped');
      }),
    );
  };
  const kinds = (...k: string[]) => p.components.filter((c) => k.includes(c.kind)).map((c) => c.name);
  await stopAll(kinds('vm'));
  await stopAll(kinds('client'));
  await stopAll(kinds('endpoint'));
  await stopAll(kinds('forwarder', 'nsmgr', 'nsmgr-proxy'));
  await stopAll(kinds('registry'));
  await stopAll(kinds('etcd'));
  // DPDK applications and cross-connects (runtime dpdk) whose memif sockets live under the mesh's run directory.
  const dpdk = await stopTestpmdUnder(p.runDir).catch(() => 0);
  if (dpdk > 0) log.info({ processes: dpdk }, 'stopped DPDK processes left by the mesh');
  report.containers = await stopContainers(p, log);
  const vms = await sweepVms(p).catch(() => [] as string[]);
  if (vms.length > 0) log.warn({ vms }, 'killed qemu processes left by their nsm vm');
  report.namespaces = await deleteNetworks(planNamespaces(p));
  if (opts.keepLogs) await removeAllBut(p.runDir, p.logDir);
  else await rm(p.runDir, { recursive: true, force: true });
  return report;
}

/** Removes everything in `dir` except `keep` (state file, sockets, etcd data go; the logs stay). */
async function removeAllBut(dir: string, keep: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.map((n) => join(dir, n)).filter((f) => f !== keep).map((f) => rm(f, { recursive: true, force: true })));
}

/** Logs kept from a failed or interrupted start of mesh `name` (no state file, a logs dir): removes them; true if there were any. */
export async function removeKeptLogs(paths: { runDir: string; stateFile: string; logDir: string }): Promise<boolean> {
  const hasState = await readdir(paths.runDir).then((n) => n.includes('state.json'), () => false);
  if (hasState) return false;
  const had = await readdir(paths.logDir).then(() => true, () => false);
  if (had) await rm(paths.runDir, { recursive: true, force: true });
  return had;
}
