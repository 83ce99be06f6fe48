// Bench phase `memory-gc`: memory.per-connection.after-gc, the RSS growth per connection of every mesh process
// (registry, nsmgr with its forwarder in process, icmp-responder, and their children such as ip channels) after
// 1,000 connections, each RSS read after a full GC in every process (components started with --expose-gc run
// one on SIGUSR2: src/cmd/gc-signal.ts). Per-process growth goes into the note.
import { closeMany, connectMany } from '../lib/connect-many.js';
import { closeAllChannels } from '../../src/api/index.js';
import { MeshClient } from '../../src/components/client.js';
import { freePort, type MeshProcess } from '../../test/e2e/helpers/mesh.js';
import { add, delNetns, log, missing, netns, newMesh, QUICK, stopMesh, treeRssKiB, wanted, type Phase } from '../lib/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Signals every process to run a full GC and waits until each reported it (or 20 s passed). */
async function gcAll(procs: MeshProcess[]): Promise<void> {
  const count = (p: MeshProcess) => p.stderr.split('gc: full collection done').length - 1;
  const before = procs.map(count);
  for (const p of procs) p.child.kill('SIGUSR2');
  const t0 = Date.now();
  while (procs.some((p, i) => count(p) <= before[i]!) && Date.now() - t0 < 20_000) await sleep(50);
}

async function memoryPhase(): Promise<void> {
  if (!wanted('memory.per-connection.after-gc')) return;
  const N = 1000;
  const NS = 10;
  const CONC = 16;
  // Children (ip -batch channels of namespaces idle this long) exit by design; wait for that before reading RSS.
  const settleMs = 6000;
  log(`memory-gc: ${N} connections, RSS of every mesh process after a full GC in each`);
  const saved = process.env.NSM_MESH_NODE_ARGS;
  process.env.NSM_MESH_NODE_ARGS = `${saved ?? ''} --expose-gc`.trim();
  const mesh = newMesh();
  const nse = await netns('gnse');
  const cns: string[] = [];
  const clients: MeshClient[] = [];
  try {
    const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
    const nsmgrUrl = mesh.sock('nsmgr');
    const procs = [
      await mesh.registry({ listen: registryUrl }),
      await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: registryUrl, withForwarder: { underlayIp: '198.18.0.1', backgroundRemoval: true } }),
      await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.0.0/16' }),
    ];
    process.env.NSM_MESH_NODE_ARGS = saved ?? '';
    if (saved === undefined) delete process.env.NSM_MESH_NODE_ARGS;
    for (let k = 0; k < NS; k++) cns.push(await netns(`g${k}`));
    for (let k = 0; k < NS; k++) clients.push(await MeshClient.create({ name: `bench-gc-${k}`, nsmgrUrl }));
    // Warm up: every code path once (lazily loaded modules, channels, caches), then closed.
    const warm = await Promise.all(clients.map((c, k) => c.request({ service: 'icmp-responder', ifname: 'nsm-w', netnsUrl: `file:///var/run/netns/${cns[k]}` })));
    await Promise.all(warm.map((w, k) => clients[k]!.close(w)));
    await sleep(settleMs);
    await gcAll(procs);
    const pids = procs.map((p) => p.pid);
    const before = procs.map((p) => treeRssKiB([p.pid]));
    const { conns, made, failed, firstErr } = await connectMany(clients, cns, N, CONC, 60_000);
    if (failed > 0) {
      missing('memory.per-connection.after-gc', `${failed} of ${N} requests failed (first: ${String(firstErr).slice(0, 200)})`);
    } else {
      await sleep(settleMs);
      await gcAll(procs);
      const after = procs.map((p) => treeRssKiB([p.pid]));
      const total = after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0);
      const growth = procs.map((p, j) => `${p.kind} +${after[j]! - before[j]!}`).join(', ');
      add({
        name: 'memory.per-connection.after-gc',
        value: total / N,
        unit: 'KiB',
        note: `VmRSS of registry, nsmgr (forwarder in process), nse and their children, each after a full GC (--expose-gc, SIGUSR2), ${N} connections open over ${NS} namespaces: +${total} KiB (${growth} KiB); pids ${pids.join(',')}${QUICK ? '; quick run' : ''}`,
      });
    }
    log(`memory-gc: closing ${conns.length}`);
    await closeMany(made, CONC);
    for (const c of clients) await c.shutdown().catch(() => undefined);
  } finally {
    if (saved === undefined) delete process.env.NSM_MESH_NODE_ARGS;
    else process.env.NSM_MESH_NODE_ARGS = saved;
    closeAllChannels();
    await stopMesh(mesh);
    await delNetns(nse, ...cns);
  }
}

export const memoryGc: Phase = { name: 'memory-gc', run: memoryPhase };
