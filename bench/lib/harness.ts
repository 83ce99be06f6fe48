// Shared state and helpers of the benchmark suite (bench/run.ts): command-line flags, the result list,
// namespaces/meshes/temp dirs that are cleaned up even on failure, RSS sampling, the CNI ptp baseline
// (measured once per run and shared by every phase that compares against it) and child-script runs.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify, parseArgs } from 'node:util';
import type { TestContext } from 'node:test';
import type { MeshClient } from '../../src/components/client.js';
import { createNamedNetns, deleteNamedNetns, listNamedNetns } from '../../src/dataplane/netns.js';
import { iperf, Mesh, ROOT } from '../../test/e2e/helpers/mesh.js';

export const execFileP = promisify(execFile);

export const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    write: { type: 'boolean', default: false },
  },
});
export const QUICK = args.quick;
export const ONLY = args.only ? args.only.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
/** A figure (or group prefix) is wanted when --only names it, a prefix of it, or it a prefix of the name. */
export const wanted = (...names: string[]) => !ONLY || names.some((n) => ONLY.some((o) => n === o || n.startsWith(o) || o.startsWith(n)));

// Components log at warn so that logging does not dominate the request path being measured.
process.env.NSM_LOG_LEVEL ??= 'warn';
// Mesh processes may take long to start on a machine shared with other jobs.
process.env.NSM_MESH_WAIT_MS ??= '90000';

export interface Result {
  name: string;
  value?: number;
  unit?: string;
  baseline?: number;
  /** What the baseline is, e.g. "CNI ptp ADD" (shown in the tables). */
  baselineLabel?: string;
  ratio?: number;
  missing?: string;
  note?: string;
}
export const results: Result[] = [];
export const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
export const r3 = (x: number) => Math.round(x * 1000) / 1000;
export const add = (r: Result) => {
  const out: Result = { ...r };
  if (out.value !== undefined) out.value = r3(out.value);
  if (out.baseline !== undefined) out.baseline = r3(out.baseline);
  if (out.value !== undefined && out.baseline !== undefined && out.ratio === undefined && out.baseline > 0) out.ratio = r3(out.value / out.baseline);
  else if (out.ratio !== undefined) out.ratio = r3(out.ratio);
  results.push(out);
};
export const missing = (name: string, reason: string) => results.push({ name, missing: reason });

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

// ---------- cleanup: namespaces b<pid>-*, processes, temp dirs ----------
export const PREFIX = `b${process.pid}-`;
export const namespaces = new Set<string>();
const tempDirs = new Set<string>();
const afterFns: (() => unknown)[] = [];
const meshes: Mesh[] = [];
let restoreForward: string | undefined;

/** Kills every mesh process, deletes every namespace and temp dir of this run (also on exit/signals). */
export function cleanupSync(): void {
  for (const m of meshes) {
    for (const p of m.procs) {
      try {
        p.child.kill('SIGKILL');
      } catch {
        // gone
      }
    }
    tempDirs.add(m.dir);
  }
  for (const ns of namespaces) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // gone
    }
  }
  namespaces.clear();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  if (restoreForward !== undefined) {
    try {
      writeFileSync('/proc/sys/net/ipv4/ip_forward', restoreForward);
    } catch {
      // best effort
    }
  }
}
process.once('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: cleaning up`);
    cleanupSync();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}

export async function sweepStale(): Promise<void> {
  for (const name of await listNamedNetns()) {
    const m = /^b(\d+)-/.exec(name);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      await deleteNamedNetns(name).catch(() => undefined);
    }
  }
}

export async function netns(suffix: string): Promise<string> {
  const name = PREFIX + suffix;
  namespaces.add(name);
  await createNamedNetns(name);
  return name;
}
export async function delNetns(...names: string[]): Promise<void> {
  for (const n of names) {
    await deleteNamedNetns(n).catch(() => undefined);
    namespaces.delete(n);
  }
}
export const ip = (...a: string[]) => execFileP('ip', a);

/** A Mesh (test helper) whose cleanup we run ourselves. */
export function newMesh(): Mesh {
  const fakeT = { after: (fn: () => unknown) => afterFns.push(fn) } as unknown as TestContext;
  const m = new Mesh(fakeT);
  meshes.push(m);
  return m;
}
export async function stopMesh(m: Mesh): Promise<void> {
  await m.cleanup();
  meshes.splice(meshes.indexOf(m), 1);
}
/** Runs the cleanups that meshes registered (at the end of the run). */
export async function runAfterFns(): Promise<void> {
  for (const fn of afterFns) await Promise.resolve(fn()).catch(() => undefined);
}

// RSS of mesh processes and their descendants: bench/lib/proc-stats.ts (re-exported for the phases).
export { rssKiB, treeRssKiB } from './proc-stats.js';

// ---------- baseline: CNI ptp ADD (host-local IPAM) for one namespace ----------
async function ptpBaseline(runs: number, warmup: number): Promise<{ add: number[]; del: number[] }> {
  const cniNs = await netns('cni');
  const dataDir = mkdtempSync(join(tmpdir(), 'nsm-bench-cni-'));
  tempDirs.add(dataDir);
  restoreForward ??= readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  const config = JSON.stringify({
    cniVersion: '1.0.0',
    name: `bench-ptp-${process.pid}`,
    type: 'ptp',
    ipMasq: false,
    ipam: { type: 'host-local', subnet: '169.254.251.0/24', dataDir },
  });
  const cni = (command: 'ADD' | 'DEL', id: string) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn('/usr/lib/cni/ptp', [], {
        env: { ...process.env, CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: `/var/run/netns/${cniNs}`, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += String(d)));
      child.stderr.on('data', (d) => (out += String(d)));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ptp ${command} exited ${code}: ${out}`))));
      child.stdin.end(config);
    });
  const times: number[] = [];
  const del: number[] = [];
  try {
    for (let i = 0; i < runs + warmup; i++) {
      const id = `bench${process.pid}x${ptpCount++}`;
      const t0 = performance.now();
      await cni('ADD', id);
      const t1 = performance.now();
      await cni('DEL', id);
      const t2 = performance.now();
      if (i >= warmup) {
        // warm-up runs fill the page cache
        times.push(t1 - t0);
        del.push(t2 - t1);
      }
    }
  } finally {
    await delNetns(cniNs);
  }
  return { add: times, del };
}

/** Sequential Request and Close timings (ms) of kernel connections into `clientNs` (interface names nsm-0, nsm-1, ...). */
export async function requestCloseTimes(client: MeshClient, clientNs: string, runs: number, warmup = 3, firstIndex = 0): Promise<{ request: number[]; close: number[] }> {
  const out = { request: [] as number[], close: [] as number[] };
  for (let i = 0; i < runs + warmup; i++) {
    const t0 = performance.now();
    const conn = await client.request({ service: 'icmp-responder', ifname: `nsm-${(firstIndex + i) % 1000}`, netnsUrl: `file:///var/run/netns/${clientNs}` });
    const t1 = performance.now();
    await client.close(conn);
    if (i >= warmup) {
      out.request.push(t1 - t0);
      out.close.push(performance.now() - t1);
    }
  }
  return out;
}

/** Sequential Request timings (ms) of kernel connections into `clientNs`, each closed after (untimed). */
export async function requestTimes(client: MeshClient, clientNs: string, runs: number, warmup = 3): Promise<number[]> {
  return (await requestCloseTimes(client, clientNs, runs, warmup)).request;
}

/** Round-trip times (ms) of `count` pings from `ns` to `dst`, one every `intervalS` seconds. */
export async function pingRtts(ns: string, dst: string, count: number, intervalS = 0.005): Promise<number[]> {
  const { stdout } = await execFileP('ip', ['netns', 'exec', ns, 'ping', '-n', '-c', String(count), '-i', String(intervalS), '-W', '1', dst], { maxBuffer: 16 << 20 });
  return [...stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}

/** rtt.<prefix>.p50/p99 through `ours` against `raw`, interleaved in `rounds` rounds of `count` pings each. */
export async function addRtt(prefix: string, ours: { ns: string; dst: string }, raw: { ns: string; dst: string }, baselineLabel: string, rounds = QUICK ? 2 : 5, count = 200): Promise<void> {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < rounds; i++) {
    a.push(...(await pingRtts(ours.ns, ours.dst, count)));
    b.push(...(await pingRtts(raw.ns, raw.dst, count)));
  }
  const note = `ping (ICMP echo, ${rounds} x ${count}, one every 5 ms, interleaved) through a mesh connection vs ${baselineLabel}`;
  add({ name: `rtt.${prefix}.p50`, value: percentile(a, 50), unit: 'ms', baseline: percentile(b, 50), baselineLabel, note });
  add({ name: `rtt.${prefix}.p99`, value: percentile(a, 99), unit: 'ms', baseline: percentile(b, 99), baselineLabel });
}

export const ipOf = (cidr: string) => cidr.split('/')[0]!;

export async function iperfMedian(serverNs: string, serverIp: string, clientNs: string, reps: number, seconds: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) xs.push((await iperf(serverNs, serverIp, clientNs, seconds)) / 1e9);
  return median(xs);
}

export const RUNS = QUICK ? 15 : 60;
/**
 * Requests+Closes a mesh serves before its Request latency is measured (local and metrics phases): an nsmgr serves
 * for days, and V8 optimises a function only after hundreds of calls.
 */
export const WARMUP = QUICK ? 50 : 300;
export const IPERF_REPS = QUICK ? 1 : 3;
export const IPERF_SECONDS = QUICK ? 2 : 4;
let ptpCount = 0;
const ptpTimes = { add: [] as number[], del: [] as number[] };

/**
 * Runs `runs` CNI ptp ADD+DEL pairs now (after `warmup` untimed ones) and adds them to this run's baseline. A
 * phase measuring ours in rounds calls it between its rounds, so both sides see the machine in the same state.
 */
export async function ptpRound(runs: number, warmup = 0): Promise<void> {
  const t = await ptpBaseline(runs, warmup);
  ptpTimes.add.push(...t.add);
  ptpTimes.del.push(...t.del);
}
/** The CNI ptp ADD times of this run (measured on first use, unless a phase measured them in rounds). */
export async function ptp(): Promise<number[]> {
  if (ptpTimes.add.length < RUNS) await ptpRound(RUNS - ptpTimes.add.length, 1);
  return ptpTimes.add;
}
/** The CNI ptp DEL times of this run (measured with the ADDs). */
export async function ptpDel(): Promise<number[]> {
  await ptp();
  return ptpTimes.del;
}
export const ptpSamples = () => ptpTimes.add.length;

export function addRequest(prefix: string, ours: number[], base: number[], baselineLabel = 'CNI ptp ADD'): void {
  add({ name: `${prefix}.p50`, value: percentile(ours, 50), unit: 'ms', baseline: percentile(base, 50), baselineLabel });
  add({ name: `${prefix}.p99`, value: percentile(ours, 99), unit: 'ms', baseline: percentile(base, 99), baselineLabel });
}

/** Runs a bench script as a child; returns its JSON object (the whole stdout). */
export async function childJson(script: string, argv: string[], env: Record<string, string> = {}, timeoutMs = 180_000): Promise<{ results: Result[] }> {
  const { stdout } = await execFileP(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', script), ...argv], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    timeout: timeoutMs,
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout) as { results: Result[] };
}

/** A bench phase: a name (for logs and `--only`) and its run, which adds its rows with add()/missing(). */
export interface Phase {
  name: string;
  run: () => Promise<void>;
}

export interface ChildPhaseOptions {
  /** Arguments for the script (default: `--json`). */
  argv?: string[];
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Renames rows, e.g. to add a suffix. */
  rename?: (name: string) => string;
}

/**
 * A phase that runs one bench script as a child process and takes the rows of the JSON object it prints
 * (`{ "results": [Result, ...] }` on stdout). `figures` are the row names it produces: the phase runs when
 * `--only` selects one of them, and if the script fails the first one is reported `missing` with the reason.
 */
export function childPhase(name: string, script: string, figures: string[], opts: ChildPhaseOptions = {}): Phase {
  return {
    name,
    run: async () => {
      if (!wanted(...figures)) return;
      log(`${name}: bench/${script}`);
      try {
        const out = await childJson(script, opts.argv ?? ['--json'], opts.env, opts.timeoutMs);
        for (const r of out.results) add(opts.rename ? { ...r, name: opts.rename(r.name) } : r);
      } catch (err) {
        missing(figures[0]!, `bench/${script} failed: ${String(err).slice(0, 300)}`);
      }
    },
  };
}
