// The podman side of `nsm up`/`nsm down`: start a container for each `runtime: podman` workload once
// its namespace exists, and remove the mesh's containers (by name and by label) before the namespaces go.
import type { Logger } from 'pino';
import { removeWorkloadContainers, startWorkloadContainers, type ContainerWorkload } from '../platforms/podman/index.js';
import type { MeshPlan } from './mesh-plan.js';

const containerWorkloads = (p: MeshPlan): ContainerWorkload[] =>
  p.workloads.filter((w) => w.runtime === 'podman' && w.container).map((w) => ({ name: w.name, container: w.container!, netns: w.netns }));

export async function startContainers(p: MeshPlan, progress: (line: string) => void): Promise<void> {
  const ws = containerWorkloads(p);
  if (ws.length === 0) return;
  const t = Date.now();
  await startWorkloadContainers(p.name, ws);
  progress(`started ${ws.length} podman container(s) in ${Date.now() - t} ms: ${ws.map((w) => w.container).join(', ')}`);
}

/** Removes the mesh's containers; a host without podman and a mesh without containers are fine. */
export async function stopContainers(p: MeshPlan, log: Logger): Promise<string[]> {
  const names = containerWorkloads(p).map((w) => w.container);
  // The plan is in the state file before any container starts: no podman workload, no container.
  if (names.length === 0) return [];
  try {
    const labelled = await removeWorkloadContainers(p.name, names);
    const removed = [...new Set([...names, ...labelled])];
    if (removed.length > 0) log.info({ containers: removed }, 'containers removed');
    return removed;
  } catch (err) {
    log.error({ err: String(err) }, 'removing containers failed');
    return [];
  }
}
