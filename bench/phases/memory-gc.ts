// Bench phase `memory-gc`: memory.per-connection.after-gc, the RSS growth per connection of every mesh process
// (registry, nsmgr with its forwarder in process, icmp-responder, and their children such as ip channels) after
// 1,000 connections, each RSS read after a full GC in every process (components started with --expose-gc run
// one on SIGUSR2: src/cmd/gc-signal.ts). Per-process growth goes into the note. To keep it steady: a warm-up of
// 200 connections (opened and closed, so the heaps' young generation and pools reach their working size before
// the baseline), and each reading is taken once the mesh is settled (see settled() and readings()).
//
// What made it unsteady (85.9, 78.4, 17.2, 61.1, 83.9, 21.3 KiB in six runs): after a burst V8 keeps the young
// generation it grew (~30 MiB in the nsmgr, ~15 MiB in the nse) until a GC finds the allocation rate low, which
// takes a few quiet seconds of GCs (see readings()); a reading taken 6 s after the burst fell on either side of
// that (so did the baseline), and the two sides are ~45 KiB per connection apart. And the GC itself, run inside the
// signal's JS callback, left ~16 MiB of garbage in the nsmgr for an unpredictable while (src/cmd/gc-signal.ts). Also, the baseline could still hold the warm-up's
// Closes (the forwarder removes links in the background, at most two at a time: with the load of this machine that
// took up to ~15 s) and the processes' log lines not yet read from their stderr pipes.
import { closeMany, connectMany } from '../lib/connect-many.js';
import { closeAllChannels } from '../../src/api/index.js';
import { MeshClient } from '../../src/components/client.js';
import { freePort, type MeshProcess } from '../../test/e2e/helpers/mesh.js';
import { add, delNetns, ip, log, median, missing, netns, newMesh, QUICK, stopMesh, treeRssKiB, wanted, type Phase } from '../lib/harness.js';

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

/** Links other than lo in a namespace (the warm-up's links are gone once the forwarder's removals are done). */
async function linkCount(ns: string): Promise<number> {
  const { stdout } = await ip('-n', ns, '-o', 'link', 'show').catch(() => ({ stdout: '' }));
  return stdout.split('\n').filter((l) => l.trim() && !/^\d+: lo:/.test(l)).length;
}

/**
 * Waits (at most `maxMs`) until the mesh is done with what came before: no link left in `emptyNs` (the warm-up's
 * Closes are finished in the kernel too) and no process wrote to its stderr for a second (its log lines are read,
 * not queued in its heap). Returns how long it waited (ms).
 */
async function settled(procs: MeshProcess[], emptyNs: string[], maxMs: number): Promise<number> {
  const t0 = Date.now();
  let quiet = procs.map((p) => p.stderr.length);
  for (;;) {
    await sleep(1000);
    const now = procs.map((p) => p.stderr.length);
    const logsQuiet = now.every((n, i) => n === quiet[i]);
    quiet = now;
    if (Date.now() - t0 >= maxMs) return Date.now() - t0;
    if (!logsQuiet) continue;
    const links = await Promise.all(emptyNs.map(linkCount));
    if (links.every((n) => n === 0)) return Date.now() - t0;
  }
}

/**
 * Per process: tree RSS (KiB) after a full GC in every process, in GC-then-read rounds a second apart until the
 * summed RSS of the last three rounds agrees within 1 MiB, at least 10 and at most 20 rounds: the median of those
 * three. Why at least 10: V8 gives back the young generation it grew in a burst (~30 MiB in the nsmgr) only at a GC
 * that finds the allocation rate low, and it measures that rate over the GCs of the last 5 s, counting the first
 * GC after the burst (which covers the burst's end) until the later ones add up to 5 s; so it comes at the 4th to
 * 7th round, after rounds that agree with each other. Returns the readings and how many rounds it took.
 */
async function readings(procs: MeshProcess[]): Promise<{ rss: number[]; rounds: number }> {
  const rounds: number[][] = [];
  const sum = (x: number[]) => x.reduce((a, b) => a + b, 0);
  for (let r = 0; r < 20; r++) {
    if (r > 0) await sleep(1000);
    await gcAll(procs);
    rounds.push(procs.map((p) => treeRssKiB([p.pid])));
    const last = rounds.slice(-3).map(sum);
    if (rounds.length >= 10 && Math.max(...last) - Math.min(...last) <= 1024) break;
  }
  const last = rounds.slice(-3);
  return { rss: procs.map((_, j) => median(last.map((x) => x[j]!))), rounds: rounds.length };
}

async function memoryPhase(): Promise<void> {
  if (!wanted('memory.per-connection.after-gc')) return;
  const N = 1000;
  const NS = 10;
  const CONC = 16;
  // Children (ip -batch channels of namespaces idle this long) exit by design; wait for that before reading RSS.
  const settleMs = 6000;
  const maxSettleMs = 60_000;
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
    const waitedBefore = settleMs + (await settled(procs, [nse, ...cns], maxSettleMs));
    const pids = procs.map((p) => p.pid);
    const { rss: before, rounds: roundsBefore } = await readings(procs);
    const heapBefore = procs.map(heapKiB);
    const { conns, made, failed, firstErr } = await connectMany(clients, cns, N, CONC, 60_000);
    if (failed > 0) {
      missing('memory.per-connection.after-gc', `${failed} of ${N} requests failed (first: ${String(firstErr).slice(0, 200)})`);
    } else {
      await sleep(settleMs);
      const waitedAfter = settleMs + (await settled(procs, [], maxSettleMs));
      const { rss: after, rounds: roundsAfter } = await readings(procs);
      const heap = procs.map((p, j) => `${p.kind} +${heapKiB(p) - heapBefore[j]!}`).join(', ');
      const total = after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0);
      const growth = procs.map((p, j) => `${p.kind} +${after[j]! - before[j]!}`).join(', ');
      add({
        name: 'memory.per-connection.after-gc',
        value: total / N,
        unit: 'KiB',
        note: `VmRSS of registry, nsmgr (forwarder in process), nse and their children, each the median of the last 3 of ${roundsBefore} / ${roundsAfter} readings a second apart after a full GC (--expose-gc, SIGUSR2; until 3 agree within 1 MiB), read ${(waitedBefore / 1000).toFixed(0)} / ${(waitedAfter / 1000).toFixed(0)} s after the last Close / Request (once the warm-up's links were gone and the logs quiet), after a warm-up of ${QUICK ? 50 : 200} connections, ${N} connections open over ${NS} namespaces: +${total} KiB (${growth} KiB; of which JS heap used + external: ${heap} KiB); pids ${pids.join(',')}${QUICK ? '; quick run' : ''}`,
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
