// Podman workloads of a mesh: one container per workload with `runtime: podman`, joining the
// workload's named namespace (which `nsm up` creates and owns), labelled with the mesh name so
// teardown finds them even when the state file is stale.
import { containersWithLabel, OWNER_LABEL, removeContainers, runContainer, WORKLOAD_LABEL } from './podman.js';
import { ensureBusyboxRootfs } from './rootfs.js';

export interface ContainerWorkload {
  /** Workload name (scenario). */
  name: string;
  container: string;
  /** Named namespace the container joins. */
  netns: string;
}

/** Container name of a workload: `<mesh>-<workload>` (the namespace's name, too). */
export const containerName = (mesh: string, workload: string) => `${mesh}-${workload}`;

/** Starts every container in parallel; on failure removes those started and rethrows. */
export async function startWorkloadContainers(mesh: string, ws: ContainerWorkload[]): Promise<void> {
  if (ws.length === 0) return;
  const rootfs = await ensureBusyboxRootfs();
  // A container of that name left over from a crashed run would make `run` fail.
  await removeContainers(ws.map((w) => w.container));
  const results = await Promise.allSettled(
    ws.map((w) => runContainer({ name: w.container, rootfs, netnsPath: `/run/netns/${w.netns}`, labels: { [OWNER_LABEL]: mesh, [WORKLOAD_LABEL]: w.name } })),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await removeWorkloadContainers(mesh, ws.map((w) => w.container)).catch(() => undefined);
    throw failed.reason;
  }
}

/** Removes the named containers and any other container labelled with the mesh; returns what was there. */
export async function removeWorkloadContainers(mesh: string, names: string[]): Promise<string[]> {
  const labelled = await containersWithLabel(OWNER_LABEL, mesh).catch(() => [] as string[]);
  const all = [...new Set([...names, ...labelled])];
  if (all.length > 0) await removeContainers(all);
  return labelled;
}
