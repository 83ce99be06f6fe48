// The benchmark suite (README: Performance): every figure with its baseline measured in
// the same run. The mesh runs as separate `nsm` processes (registry, nsmgr, forwarder, nse) like
// production; requests are driven by MeshClient from this process.
//   npm run bench [-- --json] [--quick] [--only name,...]
// Namespaces are named b<pid>-*, and they and every spawned process are removed even on failure/Ctrl-C.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify, parseArgs } from 'node:util';
import type { TestContext } from 'node:test';
import type { Connection } from '../src/api/index.js';
import { closeAllChannels } from '../src/api/index.js';
import { MeshClient } from '../src/components/client.js';
import { MeshMetrics } from '../src/observability/mesh-metrics.js';
import { otlpTracer, type OtelHopTracer } from '../src/observability/tracing.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNamedNetns, deleteNamedNetns, listNamedNetns } from '../src/dataplane/netns.js';
import { freePort, iperf, Mesh, ROOT } from '../test/e2e/helpers/mesh.js';
import { startEtcdCluster } from '../test/e2e/helpers/etcd.js';
import { cniAddTimes } from './cni.js';

const execFileP = promisify(execFile);

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const QUICK = args.quick;
const ONLY = args.only ? args.only.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
/** A figure (or group prefix) is wanted when --only names it, a prefix of it, or it a prefix of the name. */
const wanted = (...names: string[]) => !ONLY || names.some((n) => ONLY.some((o) => n === o || n.startsWith(o) || o.startsWith(n)));

// Components log at warn so that logging does not dominate the request path being measured.
process.env.NSM_LOG_LEVEL ??= 'warn';

interface Result {
  name: string;
  value?: number;
  unit?: string;
  baseline?: number;
  ratio?: number;
  missing?: string;
  note?: string;
}
const results: Result[] = [];
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const add = (r: Result) => {
  const out: Result = { ...r };
  if (out.value !== undefined) out.value = r3(out.value);
  if (out.baseline !== undefined) out.baseline = r3(out.baseline);
  if (out.value !== undefined && out.baseline !== undefined && out.ratio === undefined && out.baseline > 0) out.ratio = r3(out.value / out.baseline);
  else if (out.ratio !== undefined) out.ratio = r3(out.ratio);
  results.push(out);
};
const missing = (name: string, reason: string) => results.push({ name, missing: reason });

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

// ---------- cleanup: namespaces b<pid>-*, processes, temp dirs ----------
const PREFIX = `b${process.pid}-`;
const namespaces = new Set<string>();
const tempDirs = new Set<string>();
const afterFns: (() => unknown)[] = [];
const meshes: Mesh[] = [];
let restoreForward: string | undefined;

function cleanupSync(): void {
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

async function sweepStale(): Promise<void> {
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

async function netns(suffix: string): Promise<string> {
  const name = PREFIX + suffix;
  namespaces.add(name);
  await createNamedNetns(name);
  return name;
}
async function delNetns(...names: string[]): Promise<void> {
  for (const n of names) {
    await deleteNamedNetns(n).catch(() => undefined);
    namespaces.delete(n);
  }
}
const ip = (...a: string[]) => execFileP('ip', a);

/** A Mesh (test helper) whose cleanup we run ourselves. */
function newMesh(): Mesh {
  const fakeT = { after: (fn: () => unknown) => afterFns.push(fn) } as unknown as TestContext;
  const m = new Mesh(fakeT);
  meshes.push(m);
  return m;
}
async function stopMesh(m: Mesh): Promise<void> {
  await m.cleanup();
  meshes.splice(meshes.indexOf(m), 1);
}

// ---------- RSS of mesh processes and their descendants (e.g. forwarder's ip -batch channels) ----------
function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
function treeRssKiB(roots: number[]): number {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      (children.get(ppid) ?? children.set(ppid, []).get(ppid)!).push(Number(e));
    } catch {
      // exited
    }
  }
  let sum = 0;
  const stack = [...roots];
  while (stack.length) {
    const p = stack.pop()!;
    sum += rssKiB(p);
    stack.push(...(children.get(p) ?? []));
  }
  return sum;
}

// ---------- baseline: CNI ptp ADD (host-local IPAM) for one namespace ----------
async function ptpBaseline(runs: number): Promise<number[]> {
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
  try {
    for (let i = 0; i <= runs; i++) {
      const id = `bench${process.pid}x${i}`;
      const t0 = performance.now();
      await cni('ADD', id);
      const dt = performance.now() - t0;
      if (i > 0) times.push(dt); // run 0 warms the page cache
      await cni('DEL', id);
    }
  } finally {
    await delNetns(cniNs);
  }
  return times;
}

/** Sequential Request timings (ms) of kernel connections into `clientNs`, each closed after (untimed). */
async function requestTimes(client: MeshClient, clientNs: string, runs: number, warmup = 3): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs + warmup; i++) {
    const t0 = performance.now();
    const conn = await client.request({ service: 'icmp-responder', ifname: `nsm-${i}`, netnsUrl: `file:///var/run/netns/${clientNs}` });
    const dt = performance.now() - t0;
    if (i >= warmup) times.push(dt);
    await client.close(conn);
  }
  return times;
}

const ipOf = (cidr: string) => cidr.split('/')[0]!;

async function iperfMedian(serverNs: string, serverIp: string, clientNs: string, reps: number, seconds: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) xs.push((await iperf(serverNs, serverIp, clientNs, seconds)) / 1e9);
  return median(xs);
}

// ---------- phases ----------
const RUNS = QUICK ? 15 : 60;
const IPERF_REPS = QUICK ? 1 : 3;
const IPERF_SECONDS = QUICK ? 2 : 4;
let ptpTimes: number[] | undefined;

async function ptp(): Promise<number[]> {
  ptpTimes ??= await ptpBaseline(RUNS);
  return ptpTimes;
}

function addRequest(prefix: string, ours: number[], base: number[]): void {
  add({ name: `${prefix}.p50`, value: percentile(ours, 50), unit: 'ms', baseline: percentile(base, 50) });
  add({ name: `${prefix}.p99`, value: percentile(ours, 99), unit: 'ms', baseline: percentile(base, 99) });
}

async function localPhase(): Promise<void> {
  const wantReq = wanted('request.local.p50', 'request.local.p99');
  const wantTput = wanted('throughput.kernel');
  const wantConns = wanted('connections.1000.seconds', 'memory.per-connection');
  if (!wantReq && !wantTput && !wantConns) return;
  log('local: starting registry, nsmgr, forwarder, nse as separate processes');
  const mesh = newMesh();
  const nses = await netns('nse');
  const c0 = await netns('c0');
  const clients: MeshClient[] = [];
  const extraNs: string[] = [];
  try {
    const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
    const nsmgrUrl = mesh.sock('nsmgr');
    const procs = [
      await mesh.registry({ listen: registryUrl }),
      await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: registryUrl }),
      await mesh.forwarder({ name: 'fwd-1', listen: mesh.sock('fwd'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1' }),
      await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nses, cidr: '169.254.0.0/16' }),
    ];
    const client = await MeshClient.create({ name: 'bench-nsc', nsmgrUrl });
    clients.push(client);

    if (wantReq) {
      log(`local: ${RUNS} sequential requests`);
      const ours = await requestTimes(client, c0, RUNS);
      log('local: CNI ptp baseline');
      addRequest('request.local', ours, await ptp());
    }

    if (wantTput) {
      log('throughput.kernel: iperf3 through a mesh connection and through a raw veth');
      const conn = await client.request({ service: 'icmp-responder', ifname: 'nsm-tp', netnsUrl: `file:///var/run/netns/${c0}` });
      const rawA = await netns('rawa');
      const rawB = await netns('rawb');
      extraNs.push(rawA, rawB);
      await ip('link', 'add', 'veth0', 'netns', rawA, 'type', 'veth', 'peer', 'name', 'veth1', 'netns', rawB);
      await ip('-n', rawA, 'addr', 'add', '169.254.252.1/30', 'dev', 'veth0');
      await ip('-n', rawB, 'addr', 'add', '169.254.252.2/30', 'dev', 'veth1');
      await ip('-n', rawA, 'link', 'set', 'veth0', 'up');
      await ip('-n', rawB, 'link', 'set', 'veth1', 'up');
      const ours: number[] = [];
      const raw: number[] = [];
      for (let i = 0; i < IPERF_REPS; i++) {
        ours.push(await iperfMedian(nses, ipOf(conn.context!.ipContext!.dstIpAddrs[0]!), c0, 1, IPERF_SECONDS));
        raw.push(await iperfMedian(rawB, '169.254.252.2', rawA, 1, IPERF_SECONDS));
      }
      add({ name: 'throughput.kernel', value: median(ours), unit: 'Gbit/s', baseline: median(raw) });
      await client.close(conn);
    }

    if (wantConns) {
      const N = 1000;
      const NS = 10;
      const CONC = 16;
      const pids = procs.map((p) => p.pid);
      log(`connections: ${N} connections over ${NS} client namespaces, concurrency ${CONC}`);
      const cns: string[] = [];
      for (let k = 0; k < NS; k++) cns.push(await netns(`m${k}`));
      extraNs.push(...cns);
      const nscs: MeshClient[] = [];
      for (let k = 0; k < NS; k++) nscs.push(await MeshClient.create({ name: `bench-nsc-${k}`, nsmgrUrl }));
      clients.push(...nscs);
      // Let the earlier phases' garbage settle before taking the baseline RSS.
      await new Promise((r) => setTimeout(r, 1000));
      const rssBefore = treeRssKiB(pids);
      const perBefore = procs.map((p) => treeRssKiB([p.pid]));
      const conns: Connection[] = [];
      let next = 0;
      let failed = 0;
      let firstErr: unknown;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: CONC }, async () => {
          for (let i = next++; i < N; i = next++) {
            const k = i % NS;
            try {
              conns.push(await nscs[k]!.request({ service: 'icmp-responder', ifname: `nsm-${Math.floor(i / NS)}`, netnsUrl: `file:///var/run/netns/${cns[k]}`, timeoutMs: 60_000 }));
            } catch (err) {
              failed++;
              firstErr ??= err;
            }
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const rssAfter = treeRssKiB(pids);
      const growth = procs.map((p, j) => `${p.kind} +${treeRssKiB([p.pid]) - perBefore[j]!}`).join(', ');
      if (failed > 0) {
        log(`connections: ${failed} of ${N} failed: ${String(firstErr)}`);
        missing('connections.1000.seconds', `${failed} of ${N} requests failed (first: ${String(firstErr).slice(0, 200)}); ${conns.length} took ${seconds.toFixed(1)} s`);
        missing('memory.per-connection', 'not all connections were established');
      } else {
        add({ name: 'connections.1000.seconds', value: seconds, unit: 's', note: `${NS} namespaces x ${N / NS} interfaces, concurrency ${CONC}, one run` });
        add({ name: 'memory.per-connection', value: (rssAfter - rssBefore) / N, unit: 'KiB', note: `VmRSS of registry+nsmgr+forwarder+nse and their children: ${rssBefore} -> ${rssAfter} KiB (${growth} KiB)` });
      }
      log(`connections: closing ${conns.length}`);
      const t1 = performance.now();
      next = 0;
      await Promise.all(
        Array.from({ length: CONC }, async () => {
          for (let i = next++; i < conns.length; i = next++) await nscs[i % NS]!.close(conns[i]!).catch(() => undefined);
        }),
      );
      if (failed === 0) add({ name: 'connections.1000.close.seconds', value: (performance.now() - t1) / 1000, unit: 's' });
    }
  } finally {
    closeAllChannels();
    await stopMesh(mesh);
    await delNetns(nses, c0, ...extraNs);
  }
}

async function remotePhase(): Promise<void> {
  const wantReq = wanted('request.remote.p50', 'request.remote.p99');
  const wantTput = wanted('throughput.vxlan');
  if (!wantReq && !wantTput) return;
  log('remote: two nodes on an underlay bridge, registry on node-1');
  const mesh = newMesh();
  const [n1, n2, ul, nsc, nse] = [await netns('n1'), await netns('n2'), await netns('ul'), await netns('rc'), await netns('re')];
  const extraNs: string[] = [];
  try {
    await ip('-n', ul, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', ul, 'link', 'set', 'br0', 'up');
    for (const [i, n] of [n1, n2].entries()) {
      await ip('link', 'add', 'eth0', 'netns', n, 'type', 'veth', 'peer', 'name', `u${i + 1}`, 'netns', ul);
      await ip('-n', ul, 'link', 'set', `u${i + 1}`, 'master', 'br0', 'up');
      await ip('-n', n, 'addr', 'add', `198.18.0.${i + 1}/15`, 'dev', 'eth0');
      await ip('-n', n, 'link', 'set', 'eth0', 'up');
    }
    const registryUrl = `tcp://198.18.0.1:${await freePort()}`;
    await mesh.registry({ listen: registryUrl, netns: n1 });
    for (const [i, n] of [n1, n2].entries()) {
      const k = i + 1;
      const nsmgrUrl = mesh.sock(`nsmgr-${k}`);
      await mesh.nsmgr({ name: `nsmgr-${k}`, listen: nsmgrUrl, tcpListen: `tcp://198.18.0.${k}:${await freePort()}`, registry: registryUrl, netns: n });
      await mesh.forwarder({ name: `fwd-${k}`, listen: mesh.sock(`fwd-${k}`), nsmgr: nsmgrUrl, underlayIp: `198.18.0.${k}`, netns: n });
    }
    await mesh.nse({ name: 'nse-1', nsmgr: mesh.sock('nsmgr-2'), workloadNetns: nse, cidr: '169.254.0.0/16', netns: n2 });
    const client = await MeshClient.create({ name: 'bench-nsc', nsmgrUrl: mesh.sock('nsmgr-1') });

    if (wantReq) {
      log(`remote: ${RUNS} sequential requests`);
      const ours = await requestTimes(client, nsc, RUNS);
      addRequest('request.remote', ours, await ptp());
    }
    if (wantTput) {
      log('throughput.vxlan: iperf3 through a mesh connection and through a raw VXLAN on the same underlay');
      const conn = await client.request({ service: 'icmp-responder', ifname: 'nsm-tp', netnsUrl: `file:///var/run/netns/${nsc}` });
      const ra = await netns('rva');
      const rb = await netns('rvb');
      extraNs.push(ra, rb);
      // Like the forwarder: the VXLAN is created in the node namespace (underlay) and moved into the workload's.
      for (const [n, w, local, remote, addr] of [
        [n1, ra, '198.18.0.1', '198.18.0.2', '169.254.253.1/30'],
        [n2, rb, '198.18.0.2', '198.18.0.1', '169.254.253.2/30'],
      ] as const) {
        await ip('-n', n, 'link', 'add', 'vxraw', 'mtu', '1450', 'netns', w, 'type', 'vxlan', 'id', '16000000', 'local', local, 'remote', remote, 'dstport', '4790');
        await ip('-n', w, 'addr', 'add', addr, 'dev', 'vxraw');
        await ip('-n', w, 'link', 'set', 'vxraw', 'up');
      }
      const ours: number[] = [];
      const raw: number[] = [];
      for (let i = 0; i < IPERF_REPS; i++) {
        ours.push(await iperfMedian(nse, ipOf(conn.context!.ipContext!.dstIpAddrs[0]!), nsc, 1, IPERF_SECONDS));
        raw.push(await iperfMedian(rb, '169.254.253.2', ra, 1, IPERF_SECONDS));
      }
      add({ name: 'throughput.vxlan', value: median(ours), unit: 'Gbit/s', baseline: median(raw) });
      await client.close(conn);
    }
  } finally {
    closeAllChannels();
    await stopMesh(mesh);
    await delNetns(nsc, nse, ...extraNs, n1, n2, ul);
  }
}

// ---------- heal: kill to restored ping ----------
interface PingSample {
  sent: number;
  done: number;
  ok: boolean;
}

/** Pings `dst()` from `ns` (one `ping -c1 -W0.2` every 50 ms) until stopped; every sample kept (wall-clock ms). */
function pingLoop(ns: string, dst: () => string): { samples: PingSample[]; stop: () => Promise<void> } {
  const samples: PingSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const sent = Date.now();
      const ok = await execFileP('nsenter', [`--net=/var/run/netns/${ns}`, 'ping', '-c1', '-n', '-q', '-W', '0.2', dst()], { timeout: 2000 }).then(
        () => true,
        () => false,
      );
      samples.push({ sent, done: Date.now(), ok });
      await new Promise((r) => setTimeout(r, Math.max(0, 50 - (Date.now() - sent))));
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Outage after `t0`: first reply after the last lost one (undefined: none lost); also the largest gap between replies. */
function outage(samples: PingSample[], t0: number): { restoredMs?: number; lost: number; maxGapMs: number } {
  const after = samples.filter((s) => s.sent >= t0);
  const lastLost = after.map((s) => !s.ok).lastIndexOf(true);
  const oks = samples.filter((s) => s.ok && s.done >= t0 - 1000).map((s) => s.done);
  const maxGapMs = Math.max(0, ...oks.slice(1).map((d, i) => d - oks[i]!));
  if (lastLost < 0) return { lost: 0, maxGapMs };
  const restored = after.slice(lastLost + 1).find((s) => s.ok);
  return { ...(restored ? { restoredMs: restored.done - t0 } : {}), lost: after.filter((s) => !s.ok).length, maxGapMs };
}

const HEAL_RUNS = 3;

async function healPhase(): Promise<void> {
  const wantFwd = wanted('heal.forwarder.ms', 'heal.forwarder.control-plane.ms');
  const wantEp = wanted('heal.endpoint.ms');
  if (!wantFwd && !wantEp && !wanted('heal.endpoint.liveness-only.ms')) return;
  log('heal: registry, nsmgr, forwarder and two endpoints as separate processes; a client (liveness 1 s, as nsm nsc) pinging its dst');
  const mesh = newMesh();
  const [nsA, nsB, cns] = [await netns('ha'), await netns('hb'), await netns('hc')];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
    const nsmgrUrl = mesh.sock('nsmgr');
    const fwdOpts = { name: 'fwd-1', listen: mesh.sock('fwd'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1' };
    const nseOpts = {
      'nse-a': { name: 'nse-a', nsmgr: nsmgrUrl, workloadNetns: nsA, cidr: '169.254.64.0/20' },
      'nse-b': { name: 'nse-b', nsmgr: nsmgrUrl, workloadNetns: nsB, cidr: '169.254.80.0/20' },
    } as const;
    await mesh.registry({ listen: registryUrl });
    await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: registryUrl });
    let fwd = await mesh.forwarder(fwdOpts);
    const nses: Record<string, Awaited<ReturnType<Mesh['nse']>>> = {};
    for (const o of Object.values(nseOpts)) nses[o.name] = await mesh.nse(o);

    let conn: Connection | undefined;
    let upAt = 0;
    const client = await MeshClient.create({
      name: 'bench-heal-nsc',
      nsmgrUrl,
      livenessIntervalMs: 1000,
      onState: (_id, state, c) => {
        if (state === 'UP' && c) {
          conn = c;
          upAt = Date.now();
        }
      },
    });
    conn = await client.request({ service: 'icmp-responder', ifname: 'nsm-h', netnsUrl: `file:///var/run/netns/${cns}` });
    const dst = () => ipOf(conn!.context!.ipContext!.dstIpAddrs[0]!);
    const pings = pingLoop(cns, dst);
    const waitUp = async (since: number, ms: number) => {
      const end = Date.now() + ms;
      while (upAt < since && Date.now() < end) await sleep(20);
      return upAt >= since;
    };
    const waitPing = async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        if (pings.samples.slice(-3).length === 3 && pings.samples.slice(-3).every((s) => s.ok)) return true;
        await sleep(50);
      }
      return false;
    };
    try {
      if (!(await waitPing(5000))) throw new Error('no ping through the connection before the kills');

      if (wantFwd) {
        const data: number[] = [];
        const control: number[] = [];
        const notes: string[] = [];
        for (let i = 0; i < HEAL_RUNS; i++) {
          log(`heal.forwarder: run ${i + 1}/${HEAL_RUNS}: SIGKILL fwd-1, restarted at once`);
          await sleep(1500);
          const t0 = Date.now();
          await fwd.kill();
          fwd = await mesh.forwarder(fwdOpts);
          if (!(await waitUp(t0, 15_000))) throw new Error(`forwarder run ${i + 1}: connection not UP again within 15 s`);
          control.push(upAt - t0);
          if (!(await waitPing(10_000))) throw new Error(`forwarder run ${i + 1}: ping not back within 10 s`);
          await sleep(500);
          const o = outage(pings.samples, t0);
          data.push(o.restoredMs ?? 0);
          notes.push(o.lost ? `${o.lost} lost, back after ${o.restoredMs} ms` : `0 lost (largest reply gap ${o.maxGapMs} ms)`);
        }
        const broke = data.some((d) => d > 0);
        add({
          name: 'heal.forwarder.ms',
          value: median(data),
          unit: 'ms',
          note: `kill to restored ping, median of ${HEAL_RUNS}; fwd-1 SIGKILLed and restarted at once (as a supervisor would); ${broke ? '' : 'the data path never broke (the kernel veth outlives the forwarder, which adopts it in place): 0 = no ping lost; '}runs: ${notes.join('; ')}`,
        });
        add({
          name: 'heal.forwarder.control-plane.ms',
          value: median(control),
          unit: 'ms',
          note: `kill to the client's connection UP again (refreshed through the restarted forwarder; includes its start-up), runs: ${control.join(', ')} ms`,
        });
      }

      if (wantEp) {
        const times: number[] = [];
        const notes: string[] = [];
        for (let i = 0; i < HEAL_RUNS; i++) {
          await sleep(1500);
          const victim = conn.networkServiceEndpointName;
          log(`heal.endpoint: run ${i + 1}/${HEAL_RUNS}: SIGKILL ${victim} and delete the client's interface`);
          const t0 = Date.now();
          await nses[victim]!.kill();
          await ip('-n', cns, 'link', 'del', 'nsm-h').catch(() => undefined);
          if (!(await waitUp(t0, 15_000))) throw new Error(`endpoint run ${i + 1}: connection not UP again within 15 s`);
          if (!(await waitPing(10_000))) throw new Error(`endpoint run ${i + 1}: ping not back within 10 s`);
          const o = outage(pings.samples, t0);
          if (o.restoredMs === undefined) throw new Error(`endpoint run ${i + 1}: no ping was lost, so the data path did not break`);
          times.push(o.restoredMs);
          notes.push(`${victim} -> ${conn.networkServiceEndpointName} ${o.restoredMs} ms (UP after ${upAt - t0} ms)`);
          // Bring the victim back so that the next run has two endpoints again.
          nses[victim] = await mesh.nse(nseOpts[victim as keyof typeof nseOpts]);
        }
        add({
          name: 'heal.endpoint.ms',
          value: median(times),
          unit: 'ms',
          note: `SIGKILL of the endpoint in use + deletion of the client's interface, to the first ping reply from the other endpoint; median of ${HEAL_RUNS}. The endpoint's monitor stream breaks at once, the client heals, and its liveness ping (failing: the interface is gone) turns the heal into a reselection; runs: ${notes.join('; ')}`,
        });
      }

      if (wanted('heal.endpoint.liveness-only.ms')) {
        // The data path alone breaks (the endpoint lives on): only the periodic liveness check can notice.
        const times: number[] = [];
        const notes: string[] = [];
        for (let i = 0; i < HEAL_RUNS; i++) {
          await sleep(1500);
          const before = conn.networkServiceEndpointName;
          log(`heal.endpoint.liveness-only: run ${i + 1}/${HEAL_RUNS}: delete the client's interface (${before} stays up)`);
          const t0 = Date.now();
          await ip('-n', cns, 'link', 'del', 'nsm-h').catch(() => undefined);
          if (!(await waitUp(t0, 15_000))) throw new Error(`liveness-only run ${i + 1}: connection not UP again within 15 s`);
          if (!(await waitPing(10_000))) throw new Error(`liveness-only run ${i + 1}: ping not back within 10 s`);
          const o = outage(pings.samples, t0);
          if (o.restoredMs === undefined) throw new Error(`liveness-only run ${i + 1}: no ping was lost`);
          times.push(o.restoredMs);
          notes.push(`${before} -> ${conn.networkServiceEndpointName} ${o.restoredMs} ms`);
        }
        add({
          name: 'heal.endpoint.liveness-only.ms',
          value: median(times),
          unit: 'ms',
          note: `the client's interface deleted while its endpoint stays up (no control-plane event): the periodic liveness check (every 1 s, 2 failures, as nsm nsc by default) reselects; median of ${HEAL_RUNS}; runs: ${notes.join('; ')}`,
        });
      }
    } finally {
      await pings.stop();
      await client.close(conn).catch(() => undefined);
    }
  } finally {
    closeAllChannels();
    await stopMesh(mesh);
    await delNetns(nsA, nsB, cns);
  }
}

/** Runs a bench script as a child; returns its JSON object (the whole stdout). */
async function childJson(script: string, argv: string[], env: Record<string, string> = {}, timeoutMs = 180_000): Promise<{ results: Result[] }> {
  const { stdout } = await execFileP(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', script), ...argv], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    timeout: timeoutMs,
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout) as { results: Result[] };
}

async function cniPhase(): Promise<void> {
  if (!wanted('cni.add.p50', 'cni.add.daemon.p50', 'cni.node-start.p50')) return;
  log('cni: nsm-cni ADD (plugin exec -> cni-daemon -> one-node mesh) against the CNI ptp plugin ADD');
  const mesh = newMesh();
  try {
    const t = await cniAddTimes({ mesh, netns, runs: RUNS, warmup: 3, log });
    const base = await ptp();
    add({ name: 'cni.add.p50', value: percentile(t.plugin, 50), unit: 'ms', baseline: percentile(base, 50), note: 'whole plugin exec as a runtime sees it (node start included) vs the ptp binary with host-local IPAM' });
    add({ name: 'cni.add.p99', value: percentile(t.plugin, 99), unit: 'ms', baseline: percentile(base, 99) });
    add({ name: 'cni.node-start.p50', value: percentile(t.nodeStart, 50), unit: 'ms', note: '`node -e 0` in the same loop: the process-start floor of a plugin written for Node' });
    add({ name: 'cni.add.daemon.p50', value: percentile(t.daemon, 50), unit: 'ms', baseline: percentile(base, 50), note: 'the same ADD posted straight to cni-daemon: the plugin minus its process start' });
  } finally {
    closeAllChannels();
    await stopMesh(mesh);
    for (const n of [...namespaces].filter((x) => x.startsWith(`${PREFIX}cni-`))) await delNetns(n);
  }
}

async function registryPhase(): Promise<void> {
  const count = '10000';
  const finds = QUICK ? '300' : '2000';
  if (wanted('registry.find.p50', 'registry.register', 'registry.find.p99')) {
    log('registry: memory backend, 10,000 endpoints (bench/registry.ts)');
    try {
      const out = await childJson('registry.ts', ['--json', '--count', count, '--finds', finds]);
      for (const r of out.results) if (r.name !== 'registry.endpoints') add(r);
    } catch (err) {
      missing('registry.find.p50', `bench/registry.ts failed: ${String(err).slice(0, 300)}`);
    }
  }
  if (wanted('registry.find.p50.slow-watchers')) {
    log('registry: 200 Find(watch) streams that never read, 20,000 registrations, vs none (bench/registry-watchers.ts)');
    try {
      const out = await childJson('registry-watchers.ts', ['--json', '--count', QUICK ? '5000' : '20000', '--finds', QUICK ? '100' : '300'], {}, 600_000);
      for (const r of out.results) add(r);
    } catch (err) {
      missing('registry.find.p50.slow-watchers', `bench/registry-watchers.ts failed: ${String(err).slice(0, 300)}`);
    }
  }
  if (wanted('registry.find.p50.etcd', 'registry.register.per-second.etcd')) {
    log('registry: etcd backend, 10,000 endpoints (bench/registry.ts --backend etcd)');
    let etcd: Awaited<ReturnType<typeof startEtcdCluster>> | undefined;
    try {
      etcd = await startEtcdCluster(undefined, 1);
      const out = await childJson('registry.ts', ['--json', '--count', count, '--finds', QUICK ? '100' : '500', '--backend', 'etcd', '--etcd-endpoints', etcd.endpoints.join(',')]);
      for (const r of out.results) if (r.name !== 'registry.endpoints') add({ ...r, name: `${r.name}.etcd` });
    } catch (err) {
      missing('registry.find.p50.etcd', `etcd run failed: ${String(err).slice(0, 300)}`);
    } finally {
      await etcd?.stop();
    }
  }
  if (wanted('registry.etcd.')) {
    log('registry: store-level etcd vs memory (bench/registry-etcd.ts)');
    try {
      const out = await childJson('registry-etcd.ts', []);
      for (const r of out.results) add(r);
    } catch (err) {
      missing('registry.etcd.find_latency', `bench/registry-etcd.ts failed: ${String(err).slice(0, 300)}`);
    }
  }
}

async function dataplanePhase(): Promise<void> {
  if (!wanted('dataplane.')) return;
  log('dataplane: KernelDriver vs iproute2 spawn (bench/dataplane.ts)');
  try {
    const out = await childJson('dataplane.ts', [], { BENCH_RUNS: QUICK ? '10' : '20' });
    for (const r of out.results) add(r);
  } catch (err) {
    missing('dataplane.veth_setup.kernel_driver', `bench/dataplane.ts failed: ${String(err).slice(0, 300)}`);
  }
}

async function ipv6Phase(): Promise<void> {
  if (!wanted('throughput.kernel.ipv6')) return;
  log('throughput.kernel.ipv6: iperf3 over IPv6 through a mesh connection and through a raw veth (bench/throughput-ipv6.ts)');
  try {
    const out = await childJson('throughput-ipv6.ts', ['--reps', String(IPERF_REPS), '--seconds', String(IPERF_SECONDS)]);
    for (const r of out.results) add(r);
  } catch (err) {
    missing('throughput.kernel.ipv6', `bench/throughput-ipv6.ts failed: ${String(err).slice(0, 300)}`);
  }
}

async function srv6Phase(): Promise<void> {
  if (!wanted('throughput.srv6', 'request.remote.p50.srv6')) return;
  log('throughput.srv6: iperf3 through a mesh SRV6 connection and through the same seg6 tunnel set up by hand (bench/throughput-srv6.ts)');
  try {
    const out = await childJson('throughput-srv6.ts', ['--reps', String(IPERF_REPS), '--seconds', String(IPERF_SECONDS)]);
    for (const r of out.results) add(r);
  } catch (err) {
    missing('throughput.srv6', `bench/throughput-srv6.ts failed: ${String(err).slice(0, 300)}`);
  }
}

async function ipsecPhase(): Promise<void> {
  if (!wanted('throughput.ipsec', 'request.remote.p50.ipsec')) return;
  log('throughput.ipsec: iperf3 through a mesh IPSEC connection and through two charons set up by hand with swanctl (bench/throughput-ipsec.ts)');
  try {
    for (const r of (await childJson('throughput-ipsec.ts', ['--reps', String(IPERF_REPS), '--seconds', String(IPERF_SECONDS)])).results) add(r);
  } catch (err) {
    missing('throughput.ipsec', `bench/throughput-ipsec.ts failed: ${String(err).slice(0, 300)}`);
  }
}

async function heapPhase(): Promise<void> {
  if (!wanted('memory.per-connection.heap')) return;
  const n = QUICK ? '200' : '500';
  log(`memory: retained heap per connection over ${n} connections (bench/heap-per-connection.ts)`);
  try {
    const out = await childJson('heap-per-connection.ts', [n], {}, 300_000);
    for (const r of out.results) add(r);
  } catch (err) {
    missing('memory.per-connection.heap', `bench/heap-per-connection.ts failed: ${String(err).slice(0, 300)}`);
  }
}

async function livenessPhase(): Promise<void> {
  if (!wanted('liveness.cpu.percent.1000')) return;
  log('liveness: CPU of the data-path checks of 1,000 connections, one a second each (bench/liveness.ts)');
  try {
    const out = await childJson('liveness.ts', ['--conns', '1000', '--ns', '100', '--seconds', QUICK ? '5' : '10'], {}, 300_000);
    for (const r of out.results) add(r);
  } catch (err) {
    missing('liveness.cpu.percent.1000', `bench/liveness.ts failed: ${String(err).slice(0, 300)}`);
  }
}

// ---------- the cost of metrics and of tracing: three identical local meshes (off, metrics on, tracing on), requests interleaved ----------
async function metricsPhase(): Promise<void> {
  const wantMetrics = wanted('request.local.p50.metrics');
  const wantTracing = wanted('request.local.p50.tracing');
  if (!wantMetrics && !wantTracing) return;
  log('metrics/tracing: three local meshes (off; metrics on, scraped every second; tracing on, exported over OTLP/HTTP), requests alternating between them');
  // An OTLP/HTTP receiver that accepts and drops spans (the collector's own cost is not ours).
  const sink = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
  const otlp = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  const variants = ['off', 'metrics', 'tracing'] as const;
  const started: { mesh: Mesh; client: MeshClient; clientNs: string; scrape: string[]; tracer?: OtelHopTracer }[] = [];
  let scraper: NodeJS.Timeout | undefined;
  try {
    for (const v of variants) {
      const mesh = newMesh();
      const tag = `m${v.slice(0, 3)}`;
      const nses = await netns(`${tag}-nse`);
      const clientNs = await netns(`${tag}-c`);
      const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
      const nsmgrUrl = mesh.sock('nsmgr');
      const scrape: string[] = [];
      const env = async (): Promise<Record<string, string>> => {
        if (v === 'tracing') return { NSM_OPENTELEMETRYENDPOINT: otlp };
        if (v !== 'metrics') return {};
        const port = await freePort();
        scrape.push(`http://127.0.0.1:${port}/metrics`);
        return { NSM_METRICS_LISTEN_ON: `127.0.0.1:${port}` };
      };
      await mesh.registry({ listen: registryUrl, env: await env() });
      await mesh.nsmgr({ name: `nsmgr-${tag}`, listen: nsmgrUrl, registry: registryUrl, env: await env() });
      await mesh.forwarder({ name: `fwd-${tag}`, listen: mesh.sock('fwd'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1', env: await env() });
      await mesh.nse({ name: `nse-${tag}`, nsmgr: nsmgrUrl, workloadNetns: nses, cidr: '169.254.0.0/16', env: await env() });
      const metrics = v === 'metrics' ? new MeshMetrics({ component: `bench-nsc-${tag}`, kind: 'client' }) : undefined;
      const tracer = v === 'tracing' ? otlpTracer(otlp, `bench-nsc-${tag}`) : undefined;
      const client = await MeshClient.create({ name: `bench-nsc-${tag}`, nsmgrUrl, ...(metrics ? { metrics } : {}), ...(tracer ? { tracer } : {}) });
      started.push({ mesh, client, clientNs, scrape, ...(tracer ? { tracer } : {}) });
    }
    const urls = started.flatMap((s) => s.scrape);
    scraper = setInterval(() => void Promise.all(urls.map((u) => fetch(u).then((r) => r.text()).catch(() => ''))), 1000);
    const times: number[][] = variants.map(() => []);
    // Rounds of 5 requests on each mesh, alternating, so all three see the same machine load.
    const rounds = Math.ceil(RUNS / 5);
    for (let r = 0; r < rounds; r++) {
      for (const [i, s] of started.entries()) times[i]!.push(...(await requestTimes(s.client, s.clientNs, 5, r === 0 ? 3 : 0)));
    }
    const off = percentile(times[0]!, 50);
    if (wantMetrics) add({ name: 'request.local.p50.metrics', value: percentile(times[1]!, 50), unit: 'ms', baseline: off, note: 'metrics on (every component, scraped every second) vs off, same run' });
    if (wantTracing) add({ name: 'request.local.p50.tracing', value: percentile(times[2]!, 50), unit: 'ms', baseline: off, note: 'tracing on (every hop, OTLP/HTTP export) vs off, same run' });
  } finally {
    if (scraper) clearInterval(scraper);
    for (const s of started) await s.client.shutdown().catch(() => undefined);
    for (const s of started) await s.tracer?.shutdown().catch(() => undefined);
    for (const s of started) await stopMesh(s.mesh);
    sink.closeAllConnections();
    sink.close();
  }
}

// ---------- goals (issue 9) for the table ----------
const GOALS: Record<string, { text: string; ok: (r: Result) => boolean }> = {
  'request.local.p50': { text: 'ratio <= 0.5', ok: (r) => (r.ratio ?? Infinity) <= 0.5 },
  'request.local.p50.metrics': { text: 'ratio < 1.1', ok: (r) => (r.ratio ?? Infinity) < 1.1 },
  'request.local.p50.tracing': { text: 'ratio < 1.1', ok: (r) => (r.ratio ?? Infinity) < 1.1 },
  'request.remote.p50': { text: 'ratio <= 0.5', ok: (r) => (r.ratio ?? Infinity) <= 0.5 },
  'throughput.kernel': { text: 'ratio >= 0.95', ok: (r) => (r.ratio ?? 0) >= 0.95 },
  'throughput.vxlan': { text: 'ratio >= 0.95', ok: (r) => (r.ratio ?? 0) >= 0.95 },
  'throughput.kernel.ipv6': { text: 'ratio >= 0.95', ok: (r) => (r.ratio ?? 0) >= 0.95 },
  'throughput.srv6': { text: 'ratio >= 0.95', ok: (r) => (r.ratio ?? 0) >= 0.95 },
  'throughput.ipsec': { text: 'ratio >= 0.95', ok: (r) => (r.ratio ?? 0) >= 0.95 },
  'connections.1000.seconds': { text: '< 30 s', ok: (r) => (r.value ?? Infinity) < 30 },
  'memory.per-connection': { text: '< 64 KiB', ok: (r) => (r.value ?? Infinity) < 64 },
  'memory.per-connection.heap': { text: '< 64 KiB', ok: (r) => (r.value ?? Infinity) < 64 },
  'heal.forwarder.ms': { text: '<= 1000 ms', ok: (r) => (r.value ?? Infinity) <= 1000 },
  'heal.endpoint.ms': { text: '<= 2000 ms', ok: (r) => (r.value ?? Infinity) <= 2000 },
  'registry.find.p50': { text: '< 5 ms', ok: (r) => (r.value ?? Infinity) < 5 },
  'registry.find.p50.etcd': { text: '< 5 ms', ok: (r) => (r.value ?? Infinity) < 5 },
  'liveness.cpu.percent.1000': { text: '< 5 %', ok: (r) => (r.value ?? Infinity) < 5 },
  'registry.find.p50.slow-watchers': { text: 'ratio <= 2', ok: (r) => (r.ratio ?? Infinity) <= 2 },
};

function table(): string {
  const rows = results.map((r) => {
    const g = GOALS[r.name];
    const goal = g ? `${g.text} ${r.missing ? '(missing)' : g.ok(r) ? 'met' : 'MISSED'}` : '';
    return [r.name, r.missing ? `missing: ${r.missing}` : `${r.value} ${r.unit}`, r.baseline === undefined ? '' : `${r.baseline} ${r.unit}`, r.ratio === undefined ? '' : String(r.ratio), goal];
  });
  const head = ['figure', 'value', 'baseline', 'ratio', 'goal'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => Math.min(r[i]!.length, 70))));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n');
}

async function main(): Promise<void> {
  const started = Date.now();
  await sweepStale();
  for (const [phase, fn] of [
    ['local', localPhase],
    ['metrics', metricsPhase],
    ['remote', remotePhase],
    ['ipv6', ipv6Phase],
    ['srv6', srv6Phase],
    ['ipsec', ipsecPhase],
    ['heal', healPhase],
    ['memory', heapPhase],
    ['registry', registryPhase],
    ['cni', cniPhase],
    ['dataplane', dataplanePhase],
    ['liveness', livenessPhase],
  ] as const) {
    try {
      await fn();
    } catch (err) {
      log(`${phase} phase failed: ${(err as Error).stack ?? String(err)}`);
      results.push({ name: `${phase}.*`, missing: `phase failed: ${String(err).slice(0, 300)}` });
    }
  }
  if (wanted('request.local.p50') || wanted('request.remote.p50') || wanted('cni.add.p50')) {
    results.push({ name: 'baseline.cni-ptp.samples', value: ptpTimes?.length ?? 0, unit: 'runs' });
  }
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: r3(totalmem() / 2 ** 30), node: process.version, kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim() };
  const meta = { command: `npm run bench --${args.json ? ' --json' : ''}${QUICK ? ' --quick' : ''}${ONLY ? ` --only ${ONLY.join(',')}` : ''}`, quick: QUICK, requestRuns: RUNS, iperf: { reps: IPERF_REPS, seconds: IPERF_SECONDS }, seconds: Math.round((Date.now() - started) / 1000), machine };
  if (args.json) process.stdout.write(`${JSON.stringify({ results, ...meta }, null, 2)}\n`);
  else process.stdout.write(`${table()}\n\n${JSON.stringify(meta)}\n`);
}

try {
  await main();
} finally {
  for (const fn of afterFns) await Promise.resolve(fn()).catch(() => undefined);
  cleanupSync();
}
process.exit(0);
