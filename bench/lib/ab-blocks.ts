// The A/B runner of bench/local-ab.ts and bench/remote-ab.ts: one mesh (A, the default environment) or two of the
// same build (B with the variables of `--b KEY=VAL[,KEY=VAL...]`), Requests+Closes in alternating blocks A, B, B, A,
// ... with a pause between blocks (the kernel's rtnl lock is machine-wide: one side's Close, whose links go in the
// background, must not land in the other side's next Request); prints wall-clock p50s and the CPU each mesh process
// spends per Request+Close. Flags: [runs] [--b KEY=VAL] [--block K] [--gap MS] [--gap-b MS] [--json].
import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { closeAllChannels } from '../../src/api/index.js';
import type { MeshClient } from '../../src/components/client.js';
import { createNamedNetns, deleteNamedNetns } from '../../src/dataplane/netns.js';
import { Mesh, type MeshProcess } from '../../test/e2e/helpers/mesh.js';

process.env.NSM_LOG_LEVEL ??= 'warn';
const argv = process.argv.slice(2);
const flag = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const RUNS = Number(argv.find((a) => /^\d+$/.test(a)) ?? 40);
/** Measured Requests per side in a row. */
const BLOCK = Number(flag('--block') ?? 5);
/** A pause after each Close (the links a Close leaves to be removed in the background are gone by the next Request). */
const GAP_MS = Number(flag('--gap') ?? 0);
/** Side B pauses this long after each Close instead (a check of what the previous Close costs the next Request). */
const GAP_B_MS = Number(flag('--gap-b') ?? 0);
const bArg = flag('--b');
const B_ENV: Record<string, string> | undefined = bArg
  ? Object.fromEntries(bArg.split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
  : GAP_B_MS
    ? {}
    : undefined;

const ticks = (pid: number) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, clock ticks (10 ms)
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;

/** What a set-up gets: a mesh stopped at the end, named namespaces deleted at the end. */
export interface AbPlace {
  /** 'a' or 'b'. */
  label: string;
  mesh: Mesh;
  /** Creates the named namespace `ab<pid><label>-<suffix>`; resolves its name. */
  netns(suffix: string): Promise<string>;
}

/** One side's mesh: its client, the namespace its interfaces go in, and the processes whose CPU is counted. */
export interface AbMesh {
  client: MeshClient;
  clientNs: string;
  procs: MeshProcess[];
}

interface Side extends AbMesh {
  label: string;
  request: number[];
  close: number[];
  cpu: number[];
}

const after: (() => unknown)[] = [];
const namespaces: string[] = [];

async function side(label: string, env: Record<string, string>, setUp: (env: Record<string, string>, place: AbPlace) => Promise<AbMesh>): Promise<Side> {
  const mesh = new Mesh({ after: (fn: () => unknown) => after.push(fn) } as unknown as TestContext);
  after.push(() => mesh.cleanup());
  const netns = async (suffix: string) => {
    const n = `ab${process.pid}${label}-${suffix}`;
    await createNamedNetns(n);
    namespaces.push(n);
    return n;
  };
  const m = await setUp(env, { label, mesh, netns });
  return { ...m, label, request: [], close: [], cpu: m.procs.map(() => 0) };
}

async function one(s: Side, i: number, measure: boolean): Promise<void> {
  const before = s.procs.map((p) => ticks(p.pid));
  const t0 = performance.now();
  const conn = await s.client.request({ service: 'icmp-responder', ifname: `nsm-${i % 1000}`, netnsUrl: `file:///var/run/netns/${s.clientNs}` });
  const t1 = performance.now();
  await s.client.close(conn);
  const gap = s.label === 'b' && GAP_B_MS ? GAP_B_MS : GAP_MS;
  if (gap) await new Promise((r) => setTimeout(r, gap));
  if (!measure) return;
  s.request.push(t1 - t0);
  s.close.push(performance.now() - t1);
  s.procs.forEach((p, j) => (s.cpu[j]! += ticks(p.pid) - before[j]!));
}

/** Runs the A/B (or A alone without `--b`/`--gap-b`) on meshes made by `setUp`, prints the figures and exits. */
export async function runAb(setUp: (env: Record<string, string>, place: AbPlace) => Promise<AbMesh>): Promise<never> {
  try {
    const sides = [await side('a', {}, setUp)];
    if (B_ENV) sides.push(await side('b', B_ENV, setUp));
    for (let i = 0; i < 5; i++) for (const s of sides) await one(s, i, false);
    const mono0 = process.hrtime.bigint() / 1000n;
    const self0 = process.cpuUsage();
    // Blocks: one unmeasured Request+Close of a side, BLOCK measured ones back to back, a pause, the other side's.
    for (let i = 0; i < RUNS; i += BLOCK)
      for (const s of (i / BLOCK) % 2 ? [...sides].reverse() : sides) {
        await one(s, i, false);
        for (let k = 0; k < BLOCK && i + k < RUNS; k++) await one(s, i + k + 1, true);
        if (sides.length > 1) await new Promise((r) => setTimeout(r, 300));
      }
    const self = process.cpuUsage(self0);
    // the measured window on the monotonic clock (us), to cut --cpu-prof profiles to it (bench/cpu-categories.ts --window)
    if (process.env.NSM_MESH_NODE_ARGS?.includes('--cpu-prof')) console.log(`window ${mono0}-${process.hrtime.bigint() / 1000n}`);
    const out: Record<string, unknown> = {
      runs: RUNS,
      load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
      // this process (both sides' clients, when two meshes run)
      clientCpuMs: +((self.user + self.system) / 1000 / RUNS / sides.length).toFixed(2),
    };
    for (const s of sides) {
      out[s.label] = {
        ...(s.label === 'b' ? { env: B_ENV, ...(GAP_B_MS ? { gapMs: GAP_B_MS } : {}) } : {}),
        requestP50: +median(s.request).toFixed(2),
        closeP50: +median(s.close).toFixed(2),
        // CPU per Request+Close (ms; ticks of 10 ms, summed over the runs); the Close's removal may run on after it
        cpuMs: Object.fromEntries(s.procs.map((p, j) => [p.name, +((s.cpu[j]! * 10) / RUNS).toFixed(2)])),
      };
    }
    if (B_ENV) out.ratioBA = +((out.b as { requestP50: number }).requestP50 / (out.a as { requestP50: number }).requestP50).toFixed(3);
    console.log(JSON.stringify(out, null, argv.includes('--json') ? undefined : 1));
    for (const s of sides) await s.client.shutdown();
  } finally {
    closeAllChannels();
    for (const fn of after.reverse()) await Promise.resolve(fn()).catch(() => undefined);
    for (const n of namespaces) await deleteNamedNetns(n).catch(() => undefined);
  }
  process.exit(0);
}
