// Retained JS heap per connection in each mesh process: registry, nsmgr, forwarder and
// endpoint run as separate processes with --heapsnapshot-signal; a heap snapshot (taken
// after a full GC) before and after N connections gives the growth that stays, unlike
// RSS, which also counts heap V8 has not collected or returned. Prints JSON.
// Run: node --import tsx bench/heap-per-connection.ts [N]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { closeAllChannels } from '../src/api/index.js';
import { MeshClient } from '../src/components/client.js';
import { createNamedNetns, deleteNamedNetns } from '../src/dataplane/netns.js';
import { freePort, Mesh, type MeshProcess } from '../test/e2e/helpers/mesh.js';

process.env.NSM_LOG_LEVEL ??= 'warn';
const N = Number(process.argv[2] ?? 500);
const CLIENT_NS = 5;
const diag = mkdtempSync(join(tmpdir(), 'nsm-heap-'));
const env = { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${diag}`, NSM_LOG_LEVEL: 'warn' };
const after: (() => unknown)[] = [];
const mesh = new Mesh({ after: (fn: () => unknown) => after.push(fn) } as unknown as TestContext);
const prefix = `b${process.pid}`;
const namespaces = [`${prefix}-nse`, ...Array.from({ length: CLIENT_NS }, (_, i) => `${prefix}-c${i}`)];

/** Sum of self sizes of all nodes in a heap snapshot file. */
function heapBytes(file: string): number {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as { snapshot: { meta: { node_fields: string[] } }; nodes: number[] };
  const fields = snap.snapshot.meta.node_fields;
  const self = fields.indexOf('self_size');
  let total = 0;
  for (let i = self; i < snap.nodes.length; i += fields.length) total += snap.nodes[i]!;
  return total;
}

/** Asks every process for a snapshot and waits until all are written; returns bytes by process name. */
async function snapshot(procs: MeshProcess[], round: number): Promise<Map<string, number>> {
  for (const p of procs) p.signal('SIGUSR2');
  const want = (p: MeshProcess) => readdirSync(diag).filter((f) => f.includes(`.${p.child.pid}.`) && f.endsWith(`.00${round}.heapsnapshot`));
  for (let i = 0; i < 600 && procs.some((p) => want(p).length === 0); i++) await new Promise((r) => setTimeout(r, 100));
  const out = new Map<string, number>();
  for (const p of procs) {
    // A snapshot file appears before it is complete: retry until it parses.
    for (let i = 0; ; i++) {
      try {
        out.set(p.name, heapBytes(join(diag, want(p)[0]!)));
        break;
      } catch (err) {
        if (i > 300) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  return out;
}

try {
  for (const ns of namespaces) await createNamedNetns(ns);
  const reg = `tcp://127.0.0.1:${await freePort()}`;
  const nsmgrUrl = mesh.sock('nsmgr');
  const start = async (name: string, args: string[], ready: RegExp) => {
    const p = mesh.spawn(name, args, { env });
    await p.waitLine(ready);
    return p;
  };
  const procs = [
    await start('registry', ['registry', '--listen', reg], /^registry listening/),
    await start('nsmgr', ['nsmgr', '--name', 'nsmgr-1', '--listen', nsmgrUrl, '--registry', reg], /^nsmgr .* listening/),
    await start('forwarder', ['forwarder', '--name', 'fwd-1', '--listen', mesh.sock('fwd'), '--nsmgr', nsmgrUrl, '--underlay-ip', '198.18.0.1'], /^forwarder .* listening/),
    await start('endpoint', ['nse', 'icmp-responder', '--name', 'nse-1', '--nsmgr', nsmgrUrl, '--netns', `${prefix}-nse`, '--listen', mesh.sock('nse'), '--cidr', '169.254.0.0/16'], /^nse .* serving/),
  ];
  const client = await MeshClient.create({ name: 'nsc', nsmgrUrl });
  const warm = await client.request({ service: 'icmp-responder', ifname: 'warm-1', netnsUrl: `file:///var/run/netns/${prefix}-c0` });
  await client.close(warm);
  const before = await snapshot(procs, 1);
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      for (let i = next++; i < N; i = next++) {
        await client.request({ service: 'icmp-responder', ifname: `n-${i}`, netnsUrl: `file:///var/run/netns/${prefix}-c${i % CLIENT_NS}` });
      }
    }),
  );
  const afterSnap = await snapshot(procs, 2);
  const perProcess = Object.fromEntries(procs.map((p) => [p.name, +((afterSnap.get(p.name)! - before.get(p.name)!) / N / 1024).toFixed(2)]));
  const total = Object.values(perProcess).reduce((a, b) => a + b, 0);
  process.stdout.write(
    `${JSON.stringify({
      results: [{ name: 'memory.per-connection.heap', value: +total.toFixed(2), unit: 'KiB', note: `retained JS heap after GC per connection, ${N} connections: ${JSON.stringify(perProcess)}` }],
    })}\n`,
  );
} finally {
  closeAllChannels();
  for (const fn of after.reverse()) await fn();
  for (const ns of namespaces) await deleteNamedNetns(ns).catch(() => undefined);
  rmSync(diag, { recursive: true, force: true });
}
process.exit(0);
