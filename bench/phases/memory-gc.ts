// Bench phase `memory-gc`: memory.per-connection.after-gc, the RSS growth per connection of every mesh process
// (registry, nsmgr with its forwarder in process, icmp-responder, and their children such as ip channels) after
// 1,000 connections, each RSS read after a full GC in every process (components started with --expose-gc run
// one on SIGUSR2: src/cmd/gc-signal.ts). Per-process growth goes into the note. To keep it steady: a warm-up of
// 200 connections (opened and closed, so the heaps' young generation and pools reach their working size before
// the baseline), and each reading is the median of three GC-then-read rounds a second apart.
import { closeMany, connectMany } from '../lib/connect-many.js';
import { closeAllChannels } from '../../src/api/index.js';
import { MeshClient } from '../../src/components/client.js';
import { freePort, type MeshProcess } from '../../test/e2e/helpers/mesh.js';
import { add, delNetns, log, median, missing, netns, newMesh, QUICK, stopMesh, treeRssKiB, wanted, type Phase } from '../lib/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Signals every process to run a full GC and waits until each reported it (or 20 s passed). */
async function gcAll(procs: MeshProcess[]): Promise<void> {
  const count = (p: MeshProcess) => p.stderr.split('gc: full collection done').length - 1;
  const before = procs.map(count);
  for (const p of procs) p.child.kill('SIGUSR2');
  const t0 = Date.now();
  while (procs.some((p, i) => count(p) <= before[i]!) && Date.now() - t0 < 20_000) await sleep(50);
}

/** JS heap used + external (KiB) in the process's last `gc: full collection done` line. */
function heapKiB(p: MeshProcess): number {
  const m = [...p.stderr.matchAll(/gc: full collection done rss=\d+ heapUsed=(\d+) external=(\d+)/g)].at(-1);
  return m ? Math.round((Number(m[1]) + Number(m[2])) / 1024) : 0;
}

/** Per process: the median of three tree-RSS readings (KiB), each after a full GC in every process, a second apart. */
async function readings(procs: MeshProcess[]): Promise<number[]> {
  const rounds: number[][] = [];
  for (let r = 0; r < 3; r++) {
    if (r > 0) await sleep(1000);
    await gcAll(procs);
    rounds.push(procs.map((p) => treeRssKiB([p.pid])));
  }
  return procs.map((_, j) => median(rounds.map((x) => x[j]!)));
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
    // Warm up: every code path (lazily loaded modules, channels, caches) and the heaps' working size, then closed.
    const warm = await connectMany(clients, cns, QUICK ? 50 : 200, CONC, 60_000);
    await closeMany(warm.made, CONC);
    await sleep(settleMs);
    const pids = procs.map((p) => p.pid);
    const before = await readings(procs);
    const heapBefore = procs.map(heapKiB);
    const { conns, made, failed, firstErr } = await connectMany(clients, cns, N, CONC, 60_000);
    if (failed > 0) {
      missing('memory.per-connection.after-gc', `${failed} of ${N} requests failed (first: ${String(firstErr).slice(0, 200)})`);
    } else {
      await sleep(settleMs);
      const after = await readings(procs);
      const heap = procs.map((p, j) => `${p.kind} +${heapKiB(p) - heapBefore[j]!}`).join(', ');
      const total = after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0);
      const growth = procs.map((p, j) => `${p.kind} +${after[j]! - before[j]!}`).join(', ');
      add({
        name: 'memory.per-connection.after-gc',
        value: total / N,
        unit: 'KiB',
        note: `VmRSS of registry, nsmgr (forwarder in process), nse and their children, each the median of 3 readings after a full GC (--expose-gc, SIGUSR2), after a warm-up of ${QUICK ? 50 : 200} connections, ${N} connections open over ${NS} namespaces: +${total} KiB (${growth} KiB; of which JS heap used + external: ${heap} KiB); pids ${pids.join(',')}${QUICK ? '; quick run' : ''}`,
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
