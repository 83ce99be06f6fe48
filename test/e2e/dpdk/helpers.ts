// Test helper: the dpdk-testpmd processes running on the machine that carry an NSM tag; a DPDK
// client's counters read from its testpmd log; waiting for the n-th matching output line; the one-node
// MEMIF mesh (a macswap endpoint and a flowgen client through the forwarder's testpmd) several files use.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseStats } from '../../../src/dataplane/dpdk/testpmd.js';
import { stopTestpmdUnder } from '../../../src/dataplane/dpdk/supervisor.js';
import { createTestNetns } from '../helpers/netns.js';
import { freePort, Mesh, waitFor, type MeshProcess } from '../helpers/mesh.js';

export function hasTestpmd(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v dpdk-testpmd'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function dpdkProcesses(): { pid: number; tag: string; argv: string }[] {
  const out: { pid: number; tag: string; argv: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (!argv[0]?.endsWith('testpmd')) continue;
      const tag = argv[argv.indexOf('--file-prefix') + 1] ?? '';
      if (tag.startsWith('nsm-')) out.push({ pid: Number(d), tag, argv: argv.join(' ') });
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The counters (port 0) of the one memif application under a workload's runtime directory, from its testpmd log (printed once a second). */
export function appStats(runtimeDir: string): { rx: number; tx: number } {
  for (const d of readdirSync(runtimeDir)) {
    for (const f of readdirSync(join(runtimeDir, d)).filter((n) => n.endsWith('.log'))) {
      const [port] = parseStats(readFileSync(join(runtimeDir, d, f), 'utf8'));
      if (port) return { rx: port.rxPackets, tx: port.txPackets };
    }
  }
  return { rx: 0, tx: 0 };
}

/** Waits for the n-th (1-based) stdout line of `proc` matching `re`. */
export async function nthLine(proc: MeshProcess, re: RegExp, n: number, timeoutMs: number): Promise<string> {
  const start = Date.now();
  for (;;) {
    const hits = proc.lines().filter((l) => re.test(l));
    if (hits.length >= n) return hits[n - 1]!;
    if (!proc.alive) throw new Error(`${proc.name} exited before its line #${n} matching ${re}:\n${proc.tail()}`);
    if (Date.now() - start > timeoutMs) throw new Error(`${proc.name}: no line #${n} matching ${re} within ${timeoutMs} ms:\n${proc.tail()}`);
    await sleep(50);
  }
}

export interface MemifMesh {
  mesh: Mesh;
  /** The node's namespace (control plane, endpoint and client all run in it). */
  node: string;
  nsmgrUrl: string;
  /** The forwarder's NSM_DPDK_DIR (cross-connect logs). */
  dpdkDir: string;
  nseDir: string;
  appDir: string;
  nse: MeshProcess;
  app: MeshProcess;
  /** The separate forwarder (undefined with `withForwarder`). */
  fwd: MeshProcess | undefined;
  /** The nsmgr (with its in-process forwarder when `withForwarder`). */
  mgr: MeshProcess;
  /** Starts the node's forwarder again (same name, socket and environment), or the nsmgr with `withForwarder`. */
  restart(): Promise<MeshProcess>;
  /** This mesh's testpmds (their sockets are under its directory; other tests may run DPDK meanwhile). */
  ours(): { pid: number; tag: string; argv: string }[];
  /** Waits until the client got `more` packets back beyond what it had; resolves its counters. */
  flowing(what: string, more?: number): Promise<{ rx: number; tx: number }>;
}

/**
 * One node: registry, nsmgr-1 and forwarder-1 (or an nsmgr with its in-process forwarder), a macswap
 * endpoint `nse-m` for service `fast` and a DPDK client `app` on memif://fast/m0 with a 1 s liveness check,
 * its connection up (MEMIF). The testpmds left under the mesh's directory are stopped after the test.
 */
export async function memifMesh(t: TestContext, opts: { env?: Record<string, string>; withForwarder?: boolean } = {}): Promise<MemifMesh> {
  const mesh = new Mesh(t);
  // Cross-connects outlive their forwarder by design (to be adopted): after the mesh is stopped, what is left under its directory goes, as `nsm down` does.
  t.after(() => stopTestpmdUnder(mesh.dir));
  const [node] = await createTestNetns(t, 'node');
  const dpdkDir = join(mesh.dir, 'dpdk');
  const env = { NSM_DPDK_DIR: dpdkDir, ...opts.env };
  const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
  const nsmgrUrl = mesh.sock('nsmgr');
  await mesh.registry({ listen: registryUrl, netns: node });
  const startNsmgr = () => mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: registryUrl, netns: node, ...(opts.withForwarder ? { env, withForwarder: { underlayIp: '198.18.0.1' } } : {}) });
  const startForwarder = () => mesh.forwarder({ name: 'forwarder-1', listen: mesh.sock('forwarder'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1', netns: node, env });
  const mgr = await startNsmgr();
  const fwd = opts.withForwarder ? undefined : await startForwarder();
  const nseDir = join(mesh.dir, 'run-nse');
  const appDir = join(mesh.dir, 'run-app');
  const nse = mesh.spawn('nse-m', ['nse', 'macswap', '--name', 'nse-m', '--service', 'fast', '--nsmgr', nsmgrUrl, '--runtime-dir', nseDir, '--listen', mesh.sock('nse-m')], { netns: node });
  await nse.waitLine(/^nse .* serving /);
  const app = mesh.spawnNsc({ name: 'app', nsmgr: nsmgrUrl, workloadNetns: node, urls: ['memif://fast/m0'], netns: node, extra: ['--runtime-dir', appDir, '--liveness-interval', '1s'] });
  const conn = JSON.parse(await app.waitLine(/^\{"id"/, 30_000)) as { mechanism: string };
  assert.equal(conn.mechanism, 'MEMIF', mesh.logs());
  return {
    mesh,
    node: node,
    nsmgrUrl,
    dpdkDir,
    nseDir,
    appDir,
    nse,
    app,
    fwd,
    mgr,
    restart: opts.withForwarder ? startNsmgr : startForwarder,
    ours: () => dpdkProcesses().filter((p) => p.argv.includes(`${mesh.dir}/`)),
    flowing: async (what, more = 1000) => {
      const from = appStats(appDir).rx;
      await waitFor(`${what}: ${more} more packets back`, () => appStats(appDir).rx > from + more, 20_000);
      const s = appStats(appDir);
      t.diagnostic(`${what}: client sent ${s.tx}, got back ${s.rx}`);
      return s;
    },
  };
}
