// Stops a mesh: the supervisor first (it must not restart anything), then clients (so connections
// close), then everything else (the local etcd last); SIGKILL after a grace period; then
// namespaces, sockets and run dir (with the etcd data).
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { stopContainers } from './containers.js';
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

export async function teardown(state: MeshState, log: Logger, graceMs = 5000): Promise<TeardownReport> {
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
  await stopAll(kinds('client'));
  await stopAll(kinds('endpoint'));
  await stopAll(kinds('forwarder', 'nsmgr'));
  await stopAll(kinds('registry'));
  await stopAll(kinds('etcd'));
  report.containers = await stopContainers(p, log);
  report.namespaces = await deleteNetworks(planNamespaces(p));
  await rm(p.runDir, { recursive: true, force: true });
  return report;
}
