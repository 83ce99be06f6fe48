// The status of a running mesh (`nsm status`, `--json`): components with pid and state, workloads,
// connections with their path and ping state; plus restarts, the run directory and whether anything
// still supervises it (phase `unsupervised` once the supervisor of an up mesh has died).
import { collectConnections, type ConnectionStatus } from './connections.js';
import { NSM_CMD } from './paths.js';
import { isAlive } from './proc.js';
import type { MeshState } from './state.js';
import { vl3Status, type Vl3InstanceStatus } from './vl3-status.js';

export interface ComponentStatus {
  name: string;
  kind: string;
  node?: string;
  pid: number;
  netns: string;
  url: string;
  /** Prometheus metrics (reachable from the mesh's namespaces, e.g. `ip netns exec NAME-ul curl URL`). */
  metricsUrl?: string;
  /** Its SPIFFE ID when the mesh runs mTLS. */
  spiffeId?: string;
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
  workloads: { name: string; kind: string; node: string; netns: string; runtime: string; container?: string; vm?: string; console?: string }[];
  connections: ConnectionStatus[];
  /** vL3 instances (slice, DNS server, peers, clients with DNS names); absent without vL3 endpoints. */
  vl3?: Vl3InstanceStatus[];
  /** Interdomain scenarios: each domain with its registry URL and nodes (the main domain first). */
  domains?: { name: string; registry: string; nodes: string[]; floating?: boolean; proxy?: string }[];
}

export async function meshStatus(s: MeshState): Promise<MeshStatus> {
  const p = s.plan;
  const connections = await collectConnections(p);
  const vl3 = await vl3Status(p, connections);
  return {
    name: p.name,
    file: p.file,
    runDir: p.runDir,
    phase: meshPhase(s),
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
        ...(c.metricsUrl ? { metricsUrl: c.metricsUrl } : {}),
        ...(c.spiffeId ? { spiffeId: c.spiffeId } : {}),
        state: isAlive(proc) ? 'running' : 'stopped',
        restarts: proc?.restarts ?? 0,
        log: `${p.logDir}/${c.name}.log`,
      };
    }),
    workloads: p.workloads.map((w) => ({ name: w.name, kind: w.kind, node: w.node, netns: w.netns, runtime: w.runtime ?? 'netns', ...(w.container ? { container: w.container } : {}), ...(w.vm ? { vm: w.vm.tag, console: w.vm.console } : {}) })),
    connections,
    ...(vl3 ? { vl3 } : {}),
    ...(p.domains ? { domains: p.domains } : {}),
  };
}

/** The recorded phase, except that an up mesh whose supervisor is gone (or never started) is `unsupervised`. */
export function meshPhase(s: Pick<MeshState, 'phase' | 'supervisor'>): string {
  return s.phase === 'up' && !(s.supervisor && isAlive(s.supervisor)) ? 'unsupervised' : s.phase;
}

/** The first line of `nsm status`. */
export function statusHeadline(st: Pick<MeshStatus, 'name' | 'file' | 'phase' | 'supervisor' | 'runDir'>): string {
  const head = `mesh ${st.name} (${st.file})`;
  if (st.phase === 'unsupervised') {
    const who = st.supervisor ? `its supervisor (pid ${st.supervisor.pid}) has died` : 'no supervisor runs';
    return `${head}: components left running, but ${who}: nothing restarts components any more (${NSM_CMD} down ${st.name} removes the mesh); run dir ${st.runDir}`;
  }
  return `${head}: ${st.phase}; supervisor ${st.supervisor ? `pid ${st.supervisor.pid} ${st.supervisor.state}` : 'none'}; run dir ${st.runDir}`;
}
