// The status of a running mesh (DESIGN section 10): components with pid and state, workloads,
// connections with their path and ping state; plus restarts and the run directory.
import { collectConnections, type ConnectionStatus } from './connections.js';
import { isAlive } from './proc.js';
import type { MeshState } from './state.js';

export interface ComponentStatus {
  name: string;
  kind: string;
  node?: string;
  pid: number;
  netns: string;
  url: string;
  state: 'running' | 'stopped';
  restarts: number;
  log: string;
}

export interface MeshStatus {
  name: string;
  file: string;
  runDir: string;
  phase: string;
  supervisor: { pid: number; state: 'running' | 'stopped' } | null;
  components: ComponentStatus[];
  workloads: { name: string; kind: string; node: string; netns: string; runtime: string; container?: string }[];
  connections: ConnectionStatus[];
}

export async function meshStatus(s: MeshState): Promise<MeshStatus> {
  const p = s.plan;
  return {
    name: p.name,
    file: p.file,
    runDir: p.runDir,
    phase: s.phase,
    supervisor: s.supervisor ? { pid: s.supervisor.pid, state: isAlive(s.supervisor) ? 'running' : 'stopped' } : null,
    components: p.components.map((c) => {
      const proc = s.procs[c.name];
      return {
        name: c.name,
        kind: c.kind,
        ...(c.node ? { node: c.node } : {}),
        pid: proc?.pid ?? 0,
        netns: c.workloadNetns ?? c.netns,
        url: c.url,
        state: isAlive(proc) ? 'running' : 'stopped',
        restarts: proc?.restarts ?? 0,
        log: `${p.logDir}/${c.name}.log`,
      };
    }),
    workloads: p.workloads.map((w) => ({ name: w.name, kind: w.kind, node: w.node, netns: w.netns, runtime: w.runtime ?? 'netns', ...(w.container ? { container: w.container } : {}) })),
    connections: await collectConnections(p),
  };
}
