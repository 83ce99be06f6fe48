// Security benchmark (child of bench/run.ts, or alone: node --import tsx bench/security.ts [--quick]):
// request.local.p50 / request.remote.p50 with mTLS + SVID tokens on, beside the same meshes with
// security off (the baseline, same run); tls.handshakes.per-second of an SVID pair (ECDSA P-256,
// TLS 1.3, client certificate) beside plain TCP connects per second. Prints {"results":[...]} on stdout.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as netServer, connect as netConnect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import type { TestContext } from 'node:test';
import { closeAllChannels } from '../src/api/index.js';
import { MeshClient } from '../src/components/client.js';
import { createNamedNetns, deleteNamedNetns } from '../src/dataplane/netns.js';
import { createCa, IdentityProvider, installIdentity, issueSvid, loadCa, spiffeId, type LoadedCa, type SpiffeKind } from '../src/security/index.js';
import { freePort, Mesh } from '../test/e2e/helpers/mesh.js';
import { bridgeUnderlay } from './lib/underlay.js';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, rounds: { type: 'string' } } });
const RUNS = args.quick ? 15 : 40;
/** Rounds of (off, on) meshes, alternating which goes first, so load changes hit both sides alike. */
const ROUNDS = Number(args.rounds ?? (args.quick ? 1 : 2));
const wanted = (part: string) => !args.only || args.only.split(',').includes(part);
process.env.NSM_LOG_LEVEL ??= 'warn';
const log = (m: string) => process.stderr.write(`[bench/security] ${m}\n`);
const TD = 'bench.nsm';

interface Result { name: string; value?: number; unit?: string; baseline?: number; ratio?: number; note?: string; missing?: string }
const results: Result[] = [];
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const add = (r: Result & { value: number }) => {
  results.push({ ...r, value: r3(r.value), ...(r.baseline !== undefined ? { baseline: r3(r.baseline), ratio: r3(r.value / r.baseline) } : {}) });
  log(JSON.stringify(results.at(-1)));
};
const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const PREFIX = `s${process.pid}-`;
const spaces = new Set<string>();
let nsCount = 0;
async function netns(s: string): Promise<string> {
  const n = `${PREFIX}${nsCount++}${s}`;
  spaces.add(n);
  await createNamedNetns(n);
  return n;
}
const dir = mkdtempSync(join(tmpdir(), 'nsm-bench-sec-'));
const afterFns: (() => unknown)[] = [];
const newMesh = () => new Mesh({ after: (fn: () => unknown) => afterFns.push(fn) } as unknown as TestContext);

let ca: LoadedCa;
/** NSM_* identity env for a component (security on), or none. */
async function identityEnv(on: boolean, kind: SpiffeKind, name: string): Promise<Record<string, string>> {
  if (!on) return {};
  const s = await issueSvid(ca, spiffeId(TD, kind, name), 3600_000);
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  writeFileSync(cert, s.certPem);
  writeFileSync(key, s.keyPem, { mode: 0o600 });
  return { NSM_TRUST_BUNDLE: join(dir, 'bundle.pem'), NSM_SVID_CERT: cert, NSM_SVID_KEY: key };
}
async function clientIdentity(on: boolean): Promise<void> {
  closeAllChannels();
  if (!on) return installIdentity(undefined);
  const s = await issueSvid(ca, spiffeId(TD, 'nsc', 'bench-nsc'), 3600_000);
  installIdentity(new IdentityProvider({ certPem: s.certPem, keyPem: s.keyPem, bundlePem: ca.certPem }));
}

/** BENCH_SECURITY_LOGS=DIR: keeps every mesh process's log lines there (per-hop timestamps for profiling). */
function dumpLogs(mesh: Mesh, tag: string): void {
  const out = process.env.BENCH_SECURITY_LOGS;
  if (!out) return;
  for (const p of mesh.procs) writeFileSync(join(out, `${tag}-${p.name}.log`), p.stdout + p.stderr);
}

/** CPU time (utime+stime, ms) of a process, from /proc. */
function cpuMs(pid: number): number {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}
/** CPU ms per Request+Close of each process (security on and off), for the notes: load-proof where wall time is not. */
const cpuPerRequest: Record<string, Record<string, number[]>> = {};
function cpuSnapshot(mesh: Mesh): () => void {
  const procs = mesh.procs.filter((p) => p.alive);
  const before = procs.map((p) => cpuMs(p.pid));
  const self0 = process.cpuUsage();
  return () => {
    const tag = (cpuPerRequest[currentTag] ??= {});
    procs.forEach((p, i) => (tag[p.kind] ??= []).push((cpuMs(p.pid) - before[i]!) / (RUNS + 3)));
    const d = process.cpuUsage(self0);
    (tag['client'] ??= []).push((d.user + d.system) / 1000 / (RUNS + 3));
  };
}
let currentTag = '';

async function requestTimes(client: MeshClient, clientNs: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < RUNS + 3; i++) {
    const t0 = performance.now();
    const conn = await client.request({ service: 'icmp-responder', ifname: `nsm-${i}`, netnsUrl: `file:///var/run/netns/${clientNs}` });
    if (i >= 3) times.push(performance.now() - t0);
    await client.close(conn);
  }
  return times;
}

async function local(on: boolean): Promise<number[]> {
  const tag = on ? 'on' : 'off';
  const mesh = newMesh();
  const [nse, c0] = [await netns(`l${tag}-nse`), await netns(`l${tag}-c`)];
  try {
    const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
    const nsmgrUrl = mesh.sock('nsmgr');
    await mesh.registry({ listen: registryUrl, env: await identityEnv(on, 'registry', 'registry') });
    await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: registryUrl, env: await identityEnv(on, 'nsmgr', 'nsmgr-1') });
    await mesh.forwarder({ name: 'fwd-1', listen: mesh.sock('fwd'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1', env: await identityEnv(on, 'forwarder', 'fwd-1') });
    await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.0.0/16', env: await identityEnv(on, 'nse', 'nse-1') });
    await clientIdentity(on);
    const client = await MeshClient.create({ name: 'bench-nsc', nsmgrUrl });
    currentTag = `local-${tag}`;
    const cpu = cpuSnapshot(mesh);
    try {
      return await requestTimes(client, c0);
    } finally {
      cpu();
      await client.shutdown();
    }
  } finally {
    dumpLogs(mesh, `local-${tag}`);
    closeAllChannels();
    await mesh.cleanup();
  }
}

async function remote(on: boolean): Promise<number[]> {
  const tag = on ? 'on' : 'off';
  const mesh = newMesh();
  const [n1, n2, ul, nsc, nse] = [await netns(`r${tag}-n1`), await netns(`r${tag}-n2`), await netns(`r${tag}-ul`), await netns(`r${tag}-c`), await netns(`r${tag}-e`)];
  try {
    await bridgeUnderlay(ul, [n1, n2]);
    const registryUrl = `tcp://198.18.0.1:${await freePort()}`;
    await mesh.registry({ listen: registryUrl, netns: n1, env: await identityEnv(on, 'registry', 'registry') });
    for (const [i, n] of [n1, n2].entries()) {
      const k = i + 1;
      const nsmgrUrl = mesh.sock(`nsmgr-${k}`);
      await mesh.nsmgr({ name: `nsmgr-${k}`, listen: nsmgrUrl, tcpListen: `tcp://198.18.0.${k}:${await freePort()}`, registry: registryUrl, netns: n, env: await identityEnv(on, 'nsmgr', `nsmgr-${k}`) });
      await mesh.forwarder({ name: `fwd-${k}`, listen: mesh.sock(`fwd-${k}`), nsmgr: nsmgrUrl, underlayIp: `198.18.0.${k}`, netns: n, env: await identityEnv(on, 'forwarder', `fwd-${k}`) });
    }
    await mesh.nse({ name: 'nse-1', nsmgr: mesh.sock('nsmgr-2'), workloadNetns: nse, cidr: '169.254.0.0/16', netns: n2, env: await identityEnv(on, 'nse', 'nse-1') });
    await clientIdentity(on);
    const client = await MeshClient.create({ name: 'bench-nsc', nsmgrUrl: mesh.sock('nsmgr-1') });
    currentTag = `remote-${tag}`;
    const cpu = cpuSnapshot(mesh);
    try {
      return await requestTimes(client, nsc);
    } finally {
      cpu();
      await client.shutdown();
    }
  } finally {
    closeAllChannels();
    await mesh.cleanup();
  }
}

/** Connections per second for `ms` of back-to-back connects (each closed once established). */
async function rate(ms: number, connectOnce: () => Promise<void>): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    await connectOnce();
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

async function handshakes(): Promise<void> {
  const [s, c] = [await issueSvid(ca, spiffeId(TD, 'nsmgr', 'hs-server'), 3600_000), await issueSvid(ca, spiffeId(TD, 'nsc', 'hs-client'), 3600_000)];
  const server = tls.createServer({ key: s.keyPem, cert: s.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (sock) => sock.end());
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const clientCtx = tls.createSecureContext({ key: c.keyPem, cert: c.certPem, ca: ca.certPem });
  const tlsRate = await rate(args.quick ? 1500 : 4000, () => new Promise((resolve, reject) => {
    const sock = tls.connect({ port, host: '127.0.0.1', secureContext: clientCtx, checkServerIdentity: () => undefined, session: undefined }, () => {
      sock.destroy();
      resolve();
    });
    sock.once('error', reject);
  }));
  server.close();
  const plain = netServer((sock) => sock.end());
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  const pport = (plain.address() as AddressInfo).port;
  const tcpRate = await rate(args.quick ? 1500 : 4000, () => new Promise((resolve, reject) => {
    const sock = netConnect(pport, '127.0.0.1', () => {
      sock.destroy();
      resolve();
    });
    sock.once('error', reject);
  }));
  plain.close();
  add({ name: 'tls.handshakes.per-second', value: tlsRate, unit: '1/s', baseline: tcpRate, note: 'full mutual TLS 1.3 handshakes (ECDSA P-256 SVIDs, client certificate verified, no resumption) in one process over loopback vs plain TCP connects' });
}

try {
  ca = await loadCa(await createCa(TD));
  writeFileSync(join(dir, 'bundle.pem'), ca.certPem);
  if (wanted('handshakes')) {
    log('tls handshakes');
    await handshakes();
  }
  for (const [name, fn] of [['request.local', local], ['request.remote', remote]] as const) {
    if (!wanted(name.split('.')[1]!)) continue;
    log(`${name}: ${ROUNDS} rounds of security off and on, interleaved (${RUNS} sequential requests each)`);
    const off: number[] = [], on: number[] = [];
    try {
      for (let r = 0; r < ROUNDS; r++) {
        for (const sec of r % 2 === 0 ? [false, true] : [true, false]) {
          const times = await fn(sec);
          log(`  round ${r + 1} security ${sec ? 'on' : 'off'}: p50 ${r3(p50(times))} ms (${times.map((t) => Math.round(t)).join(' ')})`);
          (sec ? on : off).push(...times);
        }
      }
    } catch (err) {
      results.push({ name: `${name}.p50.mtls`, missing: String(err).split('\n')[0]!.slice(0, 300) });
      continue;
    }
    add({ name: `${name}.p50.mtls`, value: p50(on), unit: 'ms', baseline: p50(off), note: 'mTLS on every hop + SVID-signed tokens checked by the default policies, vs the same mesh with security off (goal: ratio < 1.25)' });
  }
} finally {
  installIdentity(undefined);
  for (const f of afterFns) await f();
  for (const n of spaces) await deleteNamedNetns(n).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
for (const [tag, byKind] of Object.entries(cpuPerRequest)) log(`cpu ms per request ${tag}: ${Object.entries(byKind).map(([k, v]) => `${k} ${r3(v.reduce((a, b) => a + b, 0) / v.length)}`).join(', ')}`);
process.stdout.write(`${JSON.stringify({ results })}\n`);
process.exit(0);
