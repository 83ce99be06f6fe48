// Diagnostic: CPU time (utime+stime from /proc/PID/stat) each process of the chain bench's mesh (bench/lib/chain-mesh.ts)
// spends per chain Request and per Close, and the Request's wall time; to see where a chain Request's time goes when
// wall clock is unreliable (shared machine). Run: RUNS=40 node --import tsx bench/chain-cpu.ts
// (NSM_MESH_NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR' also prints the measured window for bench/cpu-categories.ts).
import { readFileSync } from 'node:fs';
import { closeAllChannels } from '../src/api/index.js';
import { MeshClient } from '../src/components/client.js';
import { CHAIN_SERVICE, startChainMesh } from './lib/chain-mesh.js';
import { median } from './lib/harness.js';

const RUNS = Number(process.env.RUNS ?? 40);
const ticks = (pid: number) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, clock ticks (10 ms)
};
const self = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const mesh = await startChainMesh(process.env.NSM_LOG_LEVEL ? { NSM_LOG_LEVEL: process.env.NSM_LOG_LEVEL } : {});
try {
  const client = await MeshClient.create({ name: 'bench-nsc', nsmgrUrl: mesh.nsmgrUrl });
  const names = [...mesh.procs.keys()];
  const pids = names.map((n) => mesh.procs.get(n)!.pid);
  const reqCpu = new Array<number>(names.length + 1).fill(0);
  const closeCpu = new Array<number>(names.length + 1).fill(0);
  const wall: number[] = [];
  const sample = () => [...pids.map((p) => ticks(p) * 10), self()];
  const addDelta = (acc: number[], a: number[], b: number[]) => a.forEach((x, i) => (acc[i]! += b[i]! - x));
  const mono0 = process.hrtime.bigint() / 1000n;
  for (let i = 0; i < RUNS + 3; i++) {
    const s0 = sample();
    const t0 = performance.now();
    const conn = await client.request({ service: CHAIN_SERVICE, ifname: `nsm-${i}`, netnsUrl: `file:///var/run/netns/${mesh.clientNs}`, labels: { app: 'nsc' } });
    const ms = performance.now() - t0;
    const s1 = sample();
    await client.close(conn);
    const s2 = sample();
    if (i < 3) continue;
    wall.push(ms);
    addDelta(reqCpu, s0, s1);
    addDelta(closeCpu, s1, s2);
  }
  const out: Record<string, unknown> = { runs: RUNS, requestP50Ms: median(wall), load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') };
  [...names, 'client'].forEach((n, i) => (out[n] = { requestCpuMs: reqCpu[i]! / RUNS, closeCpuMs: closeCpu[i]! / RUNS }));
  out.totalRequestCpuMs = reqCpu.reduce((a, b) => a + b, 0) / RUNS;
  out.totalCloseCpuMs = closeCpu.reduce((a, b) => a + b, 0) / RUNS;
  console.log(JSON.stringify(out, (_, v) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v), 1));
  if (process.env.NSM_MESH_NODE_ARGS?.includes('--cpu-prof')) console.log(`window ${mono0}-${process.hrtime.bigint() / 1000n}`);
  await client.shutdown().catch(() => undefined);
} finally {
  closeAllChannels();
  await mesh.stop();
}
process.exit(0);
