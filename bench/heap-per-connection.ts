// Retained JS heap per connection in each mesh process: registry, nsmgr, forwarder and
// endpoint run as separate processes with --heapsnapshot-signal; a heap snapshot (taken
// after a full GC) before and after N connections gives the growth that stays, unlike
// RSS, which also counts heap V8 has not collected or returned. Prints JSON.
// Run: node --import tsx bench/heap-per-connection.ts [N] [--top]
// --top also prints, per process on stderr, the constructors whose retained count and size grew most.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { closeAllChannels } from '../src/api/index.js';
import { MeshClient } from '../src/components/client.js';
import { createNamedNetns, deleteNamedNetns } from '../src/dataplane/netns.js';
import { freePort, Mesh, type MeshProcess } from '../test/e2e/helpers/mesh.js';

process.env.NSM_LOG_LEVEL ??= 'warn';
const N = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 500);
const CLIENT_NS = 5;
const WARM = 50;
const diag = mkdtempSync(join(tmpdir(), 'nsm-heap-'));
const env = { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${diag}`, NSM_LOG_LEVEL: 'warn' };
const after: (() => unknown)[] = [];
const mesh = new Mesh({ after: (fn: () => unknown) => after.push(fn) } as unknown as TestContext);
const prefix = `b${process.pid}`;
const namespaces = [`${prefix}-nse`, ...Array.from({ length: CLIENT_NS }, (_, i) => `${prefix}-c${i}`)];

const TOP = process.argv.includes('--top');
interface Heap {
  bytes: number;
  /** Count and bytes by "type:constructor" (only with --top). */
  byName: Map<string, { n: number; bytes: number }>;
}

/** Sum of self sizes of all nodes in a heap snapshot file (and, with --top, the same by constructor). */
function heapBytes(file: string): Heap {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const fields = snap.snapshot.meta.node_fields;
  const [self, type, name] = [fields.indexOf('self_size'), fields.indexOf('type'), fields.indexOf('name')];
  const types = snap.snapshot.meta.node_types[0];
  const out: Heap = { bytes: 0, byName: new Map() };
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const size = snap.nodes[i + self]!;
    out.bytes += size;
    if (!TOP) continue;
    const t = types[snap.nodes[i + type]!]!;
    const key = t === 'object' || t === 'closure' || t === 'native' ? `${t}:${snap.strings[snap.nodes[i + name]!]!.slice(0, 60)}` : t;
    const e = out.byName.get(key) ?? { n: 0, bytes: 0 };
    e.n++;
    e.bytes += size;
    out.byName.set(key, e);
  }
  return out;
}

/** The constructors that grew most between two snapshots, per connection. */
function topGrowth(a: Heap, b: Heap, n: number): string {
  const rows = [...b.byName].map(([k, v]) => ({ k, dn: (v.n - (a.byName.get(k)?.n ?? 0)) / n, db: (v.bytes - (a.byName.get(k)?.bytes ?? 0)) / n }));
  return rows
    .sort((x, y) => y.db - x.db)
    .slice(0, 25)
    .map((r) => `  ${r.db.toFixed(0).padStart(7)} B ${r.dn.toFixed(1).padStart(6)} x  ${r.k}`)
    .join('\n');
}

/** Asks every process for a snapshot and waits until all are written; returns bytes by process name. */
async function snapshot(procs: MeshProcess[], round: number): Promise<Map<string, Heap>> {
  for (const p of procs) p.signal('SIGUSR2');
  const want = (p: MeshProcess) => readdirSync(diag).filter((f) => f.includes(`.${p.child.pid}.`) && f.endsWith(`.00${round}.heapsnapshot`));
  for (let i = 0; i < 600 && procs.some((p) => want(p).length === 0); i++) await new Promise((r) => setTimeout(r, 100));
  const out = new Map<string, Heap>();
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
  // Warm-up: 50 connections opened and closed, so that V8's optimizing compiler is done with the hot paths
  // before the first snapshot (with one, each process's optimized code and its feedback, ~3 KiB and ~10 "code"
  // objects per connection in the forwarder, grew during the measured connections and counted as theirs).
  for (let w = 0; w < WARM; w++) {
    const warm = await client.request({ service: 'icmp-responder', ifname: `warm-${w}`, netnsUrl: `file:///var/run/netns/${prefix}-c${w % CLIENT_NS}` });
    await client.close(warm);
  }
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
  const perProcess = Object.fromEntries(procs.map((p) => [p.name, +((afterSnap.get(p.name)!.bytes - before.get(p.name)!.bytes) / N / 1024).toFixed(2)]));
  if (TOP) for (const p of procs) process.stderr.write(`${p.name}: per connection, by constructor\n${topGrowth(before.get(p.name)!, afterSnap.get(p.name)!, N)}\n`);
  const total = Object.values(perProcess).reduce((a, b) => a + b, 0);
  process.stdout.write(
    `${JSON.stringify({
      results: [{ name: 'memory.per-connection.heap', value: +total.toFixed(2), unit: 'KiB', note: `retained JS heap after GC per connection, ${N} connections after ${WARM} opened and closed: ${JSON.stringify(perProcess)}` }],
    })}\n`,
  );
} finally {
  closeAllChannels();
  for (const fn of after.reverse()) await fn();
  for (const ns of namespaces) await deleteNamedNetns(ns).catch(() => undefined);
  rmSync(diag, { recursive: true, force: true });
}
process.exit(0);
