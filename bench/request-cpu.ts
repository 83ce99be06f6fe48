// Diagnostic: CPU time (utime+stime from /proc/PID/stat) each mesh process spends per local Request+Close,
// to see where the request path's time goes. Run: node --import tsx bench/request-cpu.ts [runs] [--with-forwarder]
// (--with-forwarder: the forwarder in the nsmgr's process, --background-removal, as the latency benches run it).
// --threads: CPU per thread of each process (main thread, V8's GC workers, libuv's pool) beside the totals.
// --hold N: N connections (other interfaces of the client's namespace) stay open while the measured ones run, to
// show costs that grow with the number of connections. NSM_RTNL=0 puts the forwarder's kernel work back on its `ip -batch` children (the *TreeCpuMs figures include them).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { closeAllChannels } from '../src/api/index.js';
import { MeshClient } from '../src/components/client.js';
import { createNamedNetns, deleteNamedNetns } from '../src/dataplane/netns.js';
import { freePort, Mesh } from '../test/e2e/helpers/mesh.js';
import { treeTicks } from './lib/proc-stats.js';

process.env.NSM_LOG_LEVEL ??= 'warn';
const RUNS = Number(process.argv.slice(2).find((a, i, all) => /^\d+$/.test(a) && all[i - 1] !== '--hold') ?? 40);
const WITH_FORWARDER = process.argv.includes('--with-forwarder');
const holdArg = process.argv.indexOf('--hold');
const HOLD = holdArg > 0 ? Number(process.argv[holdArg + 1]) : 0;
// --warn: components at log level warn, as the scale bench runs them (default: info, as the e2e helper starts them).
const env = process.argv.includes('--warn') ? { env: { NSM_LOG_LEVEL: 'warn' } } : {};
const ticks = (pid: number) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, clock ticks (10 ms)
};
const sysTicks = (pid: number) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[12]); // stime: the kernel's share
};
const after: (() => unknown)[] = [];
const mesh = new Mesh({ after: (fn: () => unknown) => after.push(fn) } as unknown as TestContext);
const nse = `b${process.pid}-nse`;
const c = `b${process.pid}-c`;
await createNamedNetns(nse);
await createNamedNetns(c);
try {
  const reg = `tcp://127.0.0.1:${await freePort()}`;
  const nsmgrUrl = mesh.sock('nsmgr');
  const procs = [
    await mesh.registry({ listen: reg, ...env }),
    await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: reg, ...env, ...(WITH_FORWARDER ? { withForwarder: { underlayIp: '198.18.0.1', backgroundRemoval: true } } : {}) }),
    ...(WITH_FORWARDER ? [] : [await mesh.forwarder({ name: 'fwd-1', listen: mesh.sock('fwd'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1', ...env })]),
    await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.0.0/16', ...env }),
  ];
  const client = await MeshClient.create({ name: 'nsc', nsmgrUrl });
  const one = async (i: number) => {
    const t0 = performance.now();
    const conn = await client.request({ service: 'icmp-responder', ifname: `nsm-${i}`, netnsUrl: `file:///var/run/netns/${c}` });
    const req = performance.now() - t0;
    await client.close(conn);
    return req;
  };
  for (let i = 0; i < 5; i++) await one(i);
  const held = [];
  for (let i = 0; i < HOLD; i += 4) {
    const batch = Array.from({ length: Math.min(4, HOLD - i) }, (_, k) => client.request({ service: 'icmp-responder', ifname: `nsm-h${i + k}`, netnsUrl: `file:///var/run/netns/${c}` }));
    held.push(...(await Promise.all(batch)));
  }
  // --threads: CPU per thread (main, V8 workers, libuv pool, ...) of each process, by the thread's name
  const threadTicks = (pid: number) => {
    const m = new Map<string, number>();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = `${s.slice(s.indexOf("(") + 1, s.lastIndexOf(")"))}${tid === String(pid) ? " (main)" : ` ${tid}`}`;
        const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
        m.set(name, (m.get(name) ?? 0) + Number(f[11]) + Number(f[12]));
      } catch {
        // thread gone
      }
    }
    return m;
  };
  const THREADS = process.argv.includes('--threads');
  const thBefore = THREADS ? procs.map((p) => threadTicks(p.pid)) : [];
  // --stdout-dir DIR: what each process printed during the measured runs goes to DIR/KIND.measured.txt
  // (diagnostics: e.g. NSM_MESH_NODE_ARGS='--trace-opt --trace-deopt')
  const stdoutAt = procs.map((p) => p.stdout.length);
  const before = procs.map((p) => ticks(p.pid));
  const sysBefore = procs.map((p) => sysTicks(p.pid));
  const treeBefore = procs.map((p) => treeTicks(p.pid));
  const selfBefore = process.cpuUsage();
  const t0 = performance.now();
  const mono0 = process.hrtime.bigint() / 1000n;
  let reqMs = 0;
  const all: number[] = [];
  for (let i = 0; i < RUNS; i++) { const x = await one(i); all.push(x); reqMs += x; }
  all.sort((a, b) => a - b);
  const wall = performance.now() - t0;
  // the measured window on the monotonic clock (us), to cut --cpu-prof profiles to it (bench/cpu-categories.ts --window)
  const window = `${mono0}-${process.hrtime.bigint() / 1000n}`;
  const self = process.cpuUsage(selfBefore);
  const out: Record<string, number> = { wallMsPerRequestAndClose: wall / RUNS, requestMs: reqMs / RUNS, requestP50: all[all.length >> 1]!, benchClientCpuMs: (self.user + self.system) / 1000 / RUNS };
  procs.forEach((p, j) => (out[`${p.kind}CpuMs`] = ((ticks(p.pid) - before[j]!) * 10) / RUNS));
  procs.forEach((p, j) => (out[`${p.kind}SysMs`] = ((sysTicks(p.pid) - sysBefore[j]!) * 10) / RUNS));
  out.benchClientSysMs = self.system / 1000 / RUNS;
  // with its child processes (ip -batch channels, spawned tools): what the old kernel path cost beside the process itself
  procs.forEach((p, j) => (out[`${p.kind}TreeCpuMs`] = ((treeTicks(p.pid) - treeBefore[j]!) * 10) / RUNS));
  out.totalTreeCpuMs = procs.reduce((a, p) => a + out[`${p.kind}TreeCpuMs`]!, 0) + out.benchClientCpuMs!;
  out.held = held.length;
  const outDir = process.argv[process.argv.indexOf('--stdout-dir') + 1];
  if (process.argv.includes('--stdout-dir') && outDir) for (const [j, p] of procs.entries()) writeFileSync(`${outDir}/${p.kind}.measured.txt`, p.stdout.slice(stdoutAt[j]));
  if (THREADS) {
    procs.forEach((p, j) => {
      const now = threadTicks(p.pid);
      const per: Record<string, number> = {};
      for (const [name, t] of now) {
        const d = ((t - (thBefore[j]!.get(name) ?? 0)) * 10) / RUNS;
        if (d > 0) per[name] = Math.round(d * 100) / 100;
      }
      console.log(`threads ${p.kind}: ${JSON.stringify(per)}`);
    });
  }
  console.log(JSON.stringify(out, (_, v) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v)));
  if (process.env.NSM_MESH_NODE_ARGS?.includes('--cpu-prof')) console.log(`window ${window}`);
} finally {
  closeAllChannels();
  await mesh.cleanup();
  await deleteNamedNetns(nse).catch(() => undefined);
  await deleteNamedNetns(c).catch(() => undefined);
}
process.exit(0);
