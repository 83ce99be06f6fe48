// The state file /run/nsm/<name>/state.json: the plan plus pids and restart counts, so `status` and
// `down` work from other processes (also after `nsm up` crashed). Written atomically (tmp + rename).
import { chmod, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { meshPaths, runRoot } from './paths.js';
import type { MeshPlan } from './mesh-plan.js';

export interface ProcState {
  pid: number;
  /** Kernel start time (clock ticks since boot) to tell a reused pid apart. */
  startTime: number;
  restarts: number;
  startedAt: string;
}

export interface MeshState {
  version: 1;
  phase: 'starting' | 'up' | 'stopping';
  createdAt: string;
  plan: MeshPlan;
  procs: Record<string, ProcState>;
  supervisor?: { pid: number; startTime: number };
}

export async function writeState(state: MeshState): Promise<void> {
  const file = state.plan.stateFile;
  const tmp = `${file}.${process.pid}.tmp`;
  // Not world-readable (0600): it names every process, namespace and socket of the mesh.
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

/** The state of mesh `name`, or undefined when none is recorded. */
export async function readState(name: string): Promise<MeshState | undefined> {
  try {
    return JSON.parse(await readFile(meshPaths(name).stateFile, 'utf8')) as MeshState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${meshPaths(name).stateFile}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Names of the meshes with a state file. */
export async function listMeshes(): Promise<string[]> {
  const dirs = await readdir(runRoot()).catch(() => [] as string[]);
  const out: string[] = [];
  for (const d of dirs.sort()) {
    const ok = await readFile(join(runRoot(), d, 'state.json'), 'utf8').then(() => true, () => false);
    if (ok) out.push(d);
  }
  return out;
}
