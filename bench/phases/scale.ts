// Bench phase `scale`: connections.10000.seconds, 10 nodes on an underlay bridge (one registry, ten nsmgrs with
// their forwarders in process, one icmp-responder endpoint per node offering its own service scale-<node>),
// 1,000 connections per node, half to the node's own endpoint (local) and half to the next node's (remote,
// VXLAN), all nodes at once; then connections.10000.close.seconds. Clients run in this process (MeshClient),
// ten client namespaces per node with 100 interfaces each. CPU and peak RSS of the mesh processes go in the note.
import { closeMany, connectMany, type ConnectMany } from '../lib/connect-many.js';
import { closeAllChannels } from '../../src/api/index.js';
import { MeshClient } from '../../src/components/client.js';
import { freePort, type MeshProcess } from '../../test/e2e/helpers/mesh.js';
import { add, delNetns, log, missing, netns, newMesh, ONLY, QUICK, stopMesh, wanted, type Phase } from '../lib/harness.js';
import { cpuSeconds, cpuSum, loadAvg, rssPeak } from '../lib/proc-stats.js';
import { bridgeUnderlay } from '../lib/underlay.js';

const NODES = 10;
/** BENCH_SCALE_PER_NODE overrides (diagnostics only; the row's note says the count). */
const PER_NODE = Number(process.env.BENCH_SCALE_PER_NODE ?? (QUICK ? 100 : 1000));
const NS_PER_NODE = 10;
/** Requests in flight per node (NODES x this in all). */
const CONC_PER_NODE = 4;
const NAME = 'connections.10000.seconds';
const CLOSE = 'connections.10000.close.seconds';

async function scalePhase(): Promise<void> {
  // `--only connections.1000...` (the one-node rows) is a prefix of this name but does not ask for this phase.
  if (!wanted(NAME, CLOSE) || ONLY?.every((o) => /^connections\.1000(\.|$)/.test(o))) return;
  const total = NODES * PER_NODE;
  log(`scale: ${NODES} nodes, ${PER_NODE} connections each (half local, half to the next node), ${NODES * NS_PER_NODE} client namespaces${QUICK ? ' (quick: fewer connections)' : ''}`);
  const mesh = newMesh();
  const all: string[] = [];
  const ns = async (s: string) => {
    const n = await netns(s);
    all.push(n);
    return n;
  };
  const clients: MeshClient[] = [];
  try {
    const ul = await ns('kul');
    const nodes: string[] = [];
    for (let i = 0; i < NODES; i++) nodes.push(await ns(`k${i}`));
    await bridgeUnderlay(ul, nodes);
    // Components log at warn: 10,000 connections at info are ~100,000 log lines captured by this process.
    const env = { NSM_LOG_LEVEL: 'warn' };
    const registryUrl = `tcp://198.18.0.1:${await freePort()}`;
    const procs: MeshProcess[] = [await mesh.registry({ listen: registryUrl, netns: nodes[0]!, env })];
    const nsmgrs = await Promise.all(
      nodes.map(async (n, i) =>
        mesh.nsmgr({
          name: `nsmgr-${i}`,
          listen: mesh.sock(`nsmgr-${i}`),
          tcpListen: `tcp://198.18.0.${i + 1}:${await freePort()}`,
          registry: registryUrl,
          netns: n,
          env,
          withForwarder: { underlayIp: `198.18.0.${i + 1}`, listen: mesh.sock(`fwd-${i}`), backgroundRemoval: true },
        }),
      ),
    );
    procs.push(...nsmgrs);
    const nseNs: string[] = [];
    for (let i = 0; i < NODES; i++) nseNs.push(await ns(`ke${i}`));
    // Each endpoint hands out its own /20 of 169.254.0.0/16 (4,096 addresses for up to 2,000 connections).
    procs.push(...(await Promise.all(nodes.map((n, i) => mesh.nse({ name: `nse-${i}`, nsmgr: mesh.sock(`nsmgr-${i}`), workloadNetns: nseNs[i]!, cidr: `169.254.${16 * i}.0/20`, service: `scale-${i}`, netns: n, env })))));
    const cns: string[][] = [];
    const nodeClients: MeshClient[][] = [];
    for (let i = 0; i < NODES; i++) {
      cns.push([]);
      nodeClients.push([]);
      for (let k = 0; k < NS_PER_NODE; k++) {
        cns[i]!.push(await ns(`k${i}c${k}`));
        const c = await MeshClient.create({ name: `bench-scale-${i}-${k}`, nsmgrUrl: mesh.sock(`nsmgr-${i}`) });
        nodeClients[i]!.push(c);
        clients.push(c);
      }
    }
    // Connection j of node i: round j / NS_PER_NODE of its namespaces; even rounds local, odd rounds remote.
    const service = (i: number) => (j: number) => `scale-${Math.floor(j / NS_PER_NODE) % 2 === 0 ? i : (i + 1) % NODES}`;
    const pids = procs.map((p) => p.pid);
    // The mesh's idle CPU (registrations, heartbeats) over 5 s, to tell it from the cost of the connections.
    const idle0 = cpuSum(pids);
    await new Promise((r) => setTimeout(r, 5000));
    const idle = (cpuSum(pids) - idle0) / 5;
    log(`scale: idle mesh CPU ${(idle * 100).toFixed(0)} % of a core (${procs.map((p) => `${p.name} ${cpuSeconds(p.pid).toFixed(1)} s`).join(', ')} so far)`);
    const cpu0 = cpuSum(pids);
    const self0 = process.cpuUsage();
    const peak = rssPeak(pids);
    log(`scale: ${total} connections, ${CONC_PER_NODE} in flight per node`);
    const t0 = performance.now();
    const runs: ConnectMany[] = await Promise.all(nodes.map((_, i) => connectMany(nodeClients[i]!, cns[i]!, PER_NODE, CONC_PER_NODE, 120_000, service(i))));
    const seconds = (performance.now() - t0) / 1000;
    const peakKiB = peak.stop();
    const cpu = cpuSum(pids) - cpu0;
    const self = process.cpuUsage(self0);
    const clientCpu = (self.user + self.system) / 1e6;
    const made = runs.flatMap((r) => r.made);
    const failed = runs.reduce((s, r) => s + r.failed, 0);
    const firstErr = runs.find((r) => r.firstErr !== undefined)?.firstErr;
    const figures = `${(made.length / seconds).toFixed(0)} connections/s, ${failed} errors; CPU of the mesh processes (registry, 10 nsmgr+forwarder, 10 nse and children) ${cpu.toFixed(1)} s (${((cpu / Math.max(1, made.length)) * 1000).toFixed(1)} ms per connection), clients (bench process) ${clientCpu.toFixed(1)} s; idle mesh CPU before ${(idle * 100).toFixed(0)} % of a core; peak RSS of the mesh processes ${(peakKiB / 1024).toFixed(0)} MiB; load average ${loadAvg()}`;
    const setup = `${NODES} nodes x ${PER_NODE} connections (half local, half VXLAN to the next node), ${NODES * NS_PER_NODE} client namespaces x ${PER_NODE / NS_PER_NODE} interfaces, ${CONC_PER_NODE} requests in flight per node, components at log level warn${QUICK ? `; quick run: ${total} connections, not 10,000` : PER_NODE !== 1000 ? `; ${total} connections, not 10,000` : ''}`;
    if (firstErr !== undefined) log(`scale: first error: ${String(firstErr)}`);
    log(`scale: ${made.length} connections in ${seconds.toFixed(1)} s: ${figures}`);
    if (failed > 0) missing(NAME, `${failed} of ${total} requests failed (first: ${String(firstErr).slice(0, 200)}); ${made.length} took ${seconds.toFixed(1)} s; ${setup}; ${figures}`);
    else add({ name: NAME, value: seconds, unit: 's', note: `${setup}; ${figures}` });
    log(`scale: closing ${made.length}`);
    const cpu1 = cpuSum(pids);
    const t1 = performance.now();
    const stuckCloses = (await Promise.all(runs.map((r) => closeMany(r.made, CONC_PER_NODE)))).reduce((a, b) => a + b, 0);
    const closeSeconds = (performance.now() - t1) / 1000;
    const closeCpu = cpuSum(pids) - cpu1;
    log(`scale: closed in ${closeSeconds.toFixed(1)} s (mesh CPU ${closeCpu.toFixed(1)} s)`);
    if (stuckCloses > 0) missing(CLOSE, `${stuckCloses} Close calls still pending 30 s past their deadline (see the log)`);
    else if (failed === 0) add({ name: CLOSE, value: closeSeconds, unit: 's', note: `${made.length} connections closed, ${CONC_PER_NODE} in flight per node; CPU of the mesh processes ${closeCpu.toFixed(1)} s${QUICK ? '; quick run' : ''}` });
  } finally {
    for (const c of clients) await c.shutdown().catch(() => undefined);
    closeAllChannels();
    await stopMesh(mesh);
    await delNetns(...all.reverse());
  }
}

export const scale: Phase = { name: 'scale', run: scalePhase };
