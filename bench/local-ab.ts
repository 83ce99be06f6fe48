// Diagnostic: local Requests (the `local` phase's setup: one node, registry, nsmgr with its forwarder in process and
// background removal, icmp-responder, an in-process client): wall-clock p50 and the CPU each mesh process spends per
// Request+Close. With `--b KEY=VAL[,KEY=VAL...]` two such meshes run side by side, A with the default environment and
// B with those variables for its mesh processes, and the Requests alternate in blocks A, B, B, A, ... (same build,
// same moment: an A/B on a shared machine). `--gap-b MS`: side B pauses MS after each Close instead (a check of
// what the previous Close's link removal costs the next Request).
//   node --import tsx bench/local-ab.ts [runs] [--b NSM_X=0] [--gap-b MS] [--block K] [--gap MS] [--json]
import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { closeAllChannels } from '../src/api/index.js';
import { MeshClient } from '../src/components/client.js';
import { createNamedNetns, deleteNamedNetns } from '../src/dataplane/netns.js';
import { freePort, Mesh, type MeshProcess } from '../test/e2e/helpers/mesh.js';

process.env.NSM_LOG_LEVEL ??= 'warn';
const argv = process.argv.slice(2);
const RUNS = Number(argv.find((a) => /^\d+$/.test(a)) ?? 40);
const bArg = argv[argv.indexOf('--b') + 1];
/** --gap MS: a pause after each Close (the links a Close leaves to be removed in the background are gone by the next Request). */
/** --block K: measured Requests per side in a row (default 5). */
const BLOCK = argv.includes('--block') ? Number(argv[argv.indexOf('--block') + 1]) : 5;
const GAP_MS = argv.includes('--gap') ? Number(argv[argv.indexOf('--gap') + 1]) : 0;
const GAP_B_MS = argv.includes('--gap-b') ? Number(argv[argv.indexOf('--gap-b') + 1]) : 0;
const B_ENV: Record<string, string> | undefined = argv.includes('--gap-b') && !argv.includes('--b') ? {} : argv.includes('--b') && bArg ? Object.fromEntries(bArg.split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) : undefined;

const ticks = (pid: number) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, clock ticks (10 ms)
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;

const after: (() => unknown)[] = [];
const namespaces: string[] = [];
interface Side {
  label: string;
  client: MeshClient;
  clientNs: string;
  procs: MeshProcess[];
  request: number[];
  close: number[];
  cpu: number[];
}

async function setUp(label: string, env: Record<string, string>): Promise<Side> {
  const mesh = new Mesh({ after: (fn: () => unknown) => after.push(fn) } as unknown as TestContext);
  after.push(() => mesh.cleanup());
  const ns = (s: string) => `lab${process.pid}${label}-${s}`;
  const [c, e] = [ns('c'), ns('e')];
  for (const n of [c, e]) {
    await createNamedNetns(n);
    namespaces.push(n);
  }
  const reg = `tcp://127.0.0.1:${await freePort()}`;
  const nsmgrUrl = mesh.sock('nsmgr');
  const procs = [
    await mesh.registry({ listen: reg, env }),
    await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: reg, env, withForwarder: { underlayIp: '198.18.0.1', backgroundRemoval: true } }),
    await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: e, cidr: '169.254.0.0/16', env }),
  ];
  const client = await MeshClient.create({ name: `nsc-${label}`, nsmgrUrl });
  return { label, client, clientNs: c, procs, request: [], close: [], cpu: procs.map(() => 0) };
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

try {
  const sides = [await setUp('a', {})];
  if (B_ENV) sides.push(await setUp('b', B_ENV));
  for (let i = 0; i < 5; i++) for (const s of sides) await one(s, i, false);
  const mono0 = process.hrtime.bigint() / 1000n;
  const self0 = process.cpuUsage();
  // In blocks: BLOCK back-to-back Requests+Closes of one side after one unmeasured, then a pause, then the other
  // side's. The kernel's rtnl lock is machine-wide: one side's Close (links removed in the background) must not
  // land in the other side's next Request.
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
      ...(s.label === 'b' ? { env: B_ENV } : {}),
      requestP50: +median(s.request).toFixed(2),
      closeP50: +median(s.close).toFixed(2),
      // CPU per Request+Close (ms; ticks of 10 ms, summed over the runs); the Close's removal may run on after it
      cpuMs: Object.fromEntries(s.procs.map((p, j) => [p.kind + '', +((s.cpu[j]! * 10) / RUNS).toFixed(2)])),
    };
  }
  if (B_ENV) out.ratioBA = +((out.b as { requestP50: number }).requestP50 / (out.a as { requestP50: number }).requestP50).toFixed(3);
  console.log(JSON.stringify(out, null, argv.includes('--json') ? undefined : 1));
  for (const s of [...sides]) await s.client.shutdown();
} finally {
  closeAllChannels();
  for (const fn of after.reverse()) await Promise.resolve(fn()).catch(() => undefined);
  for (const n of namespaces) await deleteNamedNetns(n).catch(() => undefined);
}
process.exit(0);
