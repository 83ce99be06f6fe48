// throughput.memif.mpps: packets per second a DPDK client (dpdk-testpmd flowgen on memif) gets back
// from a DPDK endpoint (testpmd macswap) through a mesh MEMIF connection (the forwarder's testpmd
// cross-connect in between), against the same two applications joined directly (memif to memif),
// alternating in the same run. Each mesh rep is a new connection. Prints JSON.
// Run: node --import tsx bench/throughput-memif.ts [--reps N] [--seconds S]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestContext } from 'node:test';
import { closeAllChannels } from '../src/api/index.js';
import { MeshClient } from '../src/components/client.js';
import { startMemifApp, stopMemifApp } from '../src/dataplane/dpdk/memif-app.js';
import { startTestpmd, stopTestpmd } from '../src/dataplane/dpdk/supervisor.js';
import { tagOf } from '../src/dataplane/dpdk/testpmd.js';
import { createTestNetns, deleteTestNetns } from '../test/e2e/helpers/netns.js';
import { Mesh } from '../test/e2e/helpers/mesh.js';
import { oneNode } from '../test/e2e/helpers/one-node.js';

process.env.NSM_LOG_LEVEL ??= 'warn';
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const REPS = arg('--reps', 3);
const SECONDS = arg('--seconds', 3);
const dir = mkdtempSync(join(tmpdir(), 'nsm-bench-memif-'));

/** Packets per second the flowgen application received back over `SECONDS`, once its peer is joined by `join`. */
async function measure(join: (socket: string, connId: string) => Promise<() => Promise<void>>): Promise<number> {
  const connId = randomUUID();
  const app = await startMemifApp({ runtimeDir: dir, connId, name: 'm0', mode: 'flowgen' });
  let leave: (() => Promise<void>) | undefined;
  try {
    leave = await join(app.socketfile, connId);
    const started = performance.now();
    await sleep(SECONDS * 1000);
    const stats = await stopMemifApp(app);
    return stats.rxPackets / ((performance.now() - started) / 1000);
  } finally {
    await stopMemifApp(app).catch(() => undefined);
    await leave?.().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const after: (() => unknown)[] = [];
  const mesh = new Mesh({ after: (fn: () => unknown) => after.push(fn) } as unknown as TestContext);
  const [node] = await createTestNetns(undefined, 'memif-n');
  try {
    const { nsmgrUrl } = await oneNode(mesh, node);
    const nse = mesh.spawn('nse-m', ['nse', 'macswap', '--name', 'nse-m', '--service', 'fast', '--nsmgr', nsmgrUrl, '--runtime-dir', join(dir, 'nse'), '--listen', mesh.sock('nse-m')], { netns: node });
    await nse.waitLine(/^nse .* serving /, 60_000);
    const client = await MeshClient.create({ name: 'bench-memif', nsmgrUrl });
    const viaMesh = (socket: string, connId: string) =>
      client.request({ service: 'fast', ifname: 'm0', netnsUrl: `file:///var/run/netns/${node}`, id: connId, memifSocket: socket, timeoutMs: 60_000 }).then((conn) => () => client.close(conn));
    const direct = async (socket: string, connId: string) => {
      const peer = await startTestpmd({ tag: tagOf('mac', `direct-${connId}`), ports: [{ kind: 'memif', role: 'client', socket }], mode: 'macswap', cpu: 0 }, dir);
      return async () => void (await stopTestpmd(peer));
    };
    const ours: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < REPS; i++) {
      base.push(await measure(direct));
      ours.push(await measure(viaMesh));
      process.stderr.write(`memif rep ${i + 1}: direct ${(base.at(-1)! / 1e6).toFixed(3)} Mpps, mesh ${(ours.at(-1)! / 1e6).toFixed(3)} Mpps\n`);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const value = median(ours) / 1e6;
    const baseline = median(base) / 1e6;
    const results = [
      {
        name: 'throughput.memif.mpps',
        value: +value.toFixed(3),
        unit: 'Mpps',
        baseline: +baseline.toFixed(3),
        baselineLabel: 'memif-to-memif testpmd pair, direct',
        ratio: +(value / baseline).toFixed(3),
        note: `64-byte frames testpmd flowgen -> macswap and back, received back per second; median of ${REPS} x ${SECONDS} s, alternating; no hugepages, each testpmd pinned to one CPU (2 cores shared); load ${loadavg()[0]!.toFixed(1)}`,
      },
    ];
    process.stdout.write(`${JSON.stringify({ results })}\n`);
  } finally {
    closeAllChannels();
    for (const fn of after) await Promise.resolve(fn()).catch(() => undefined);
    await deleteTestNetns(node).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
