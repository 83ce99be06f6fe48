// The local etcd of a scenario with `registry: { backend: etcd }` and no `endpoints`: one member
// run by `nsm up` in the underlay namespace on 198.18.0.254:2379 (peer port 2380), its data under
// the run dir (`<run dir>/etcd`, removed by `nsm down`); plus the health wait before the registry starts.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { ComponentPlan, MeshPlan } from './mesh-plan.js';
import { isAlive, lastLogLine, sleep } from './proc.js';
import type { ProcState } from './state.js';

export const ETCD_CLIENT_PORT = 2379;
const ETCD_PEER_PORT = 2380;
/** The etcd binary (Debian's etcd-server); NSM_ETCD_BIN overrides it. */
const ETCD_BIN = process.env.NSM_ETCD_BIN ?? 'etcd';

/** The supervised `etcd` component of a mesh: one member listening on `ip` in `netns`. */
export function etcdComponent(mesh: string, runDir: string, netns: string, ip: string): ComponentPlan {
  const client = `http://${ip}:${ETCD_CLIENT_PORT}`;
  const peer = `http://${ip}:${ETCD_PEER_PORT}`;
  return {
    name: 'etcd',
    kind: 'etcd',
    netns,
    url: client,
    exec: ETCD_BIN,
    args: [
      `--name=${mesh}`,
      `--data-dir=${join(runDir, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=${mesh}=${peer}`,
      `--initial-cluster-token=nsm-${mesh}`,
      '--initial-cluster-state=new',
      '--logger=zap',
      '--log-outputs=stderr',
    ],
  };
}

/** Node one-liner run inside the namespace: exit 0 when GET URL/health says healthy. */
const PROBE = "fetch(process.argv[1]+'/health',{signal:AbortSignal.timeout(1000)}).then(r=>r.json()).then(b=>process.exit(b.health==='true'?0:1),()=>process.exit(1))";

function probe(netns: string, url: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', netns, process.execPath, '-e', PROBE, url], { timeout: 3000 }, (err) => resolve(!err));
  });
}

/** Waits until the member answers /health from inside its namespace; rejects when it dies or times out. */
export async function waitEtcdHealthy(plan: MeshPlan, c: ComponentPlan, proc: ProcState, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe(c.netns, c.url)) return;
    if (!isAlive(proc)) throw new Error(`${c.name} exited: ${await lastLogLine(plan, c.name)}`);
    if (Date.now() > deadline) throw new Error(`${c.name} not healthy at ${c.url} after ${timeoutMs / 1000}s: ${await lastLogLine(plan, c.name)}`);
    await sleep(200);
  }
}
