// Starts real etcd members on 127.0.0.1 (free ports, temp data dirs) for tests, waits
// until they are healthy, and always kills them and removes their data dirs afterwards.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  proc: ChildProcess;
  /** Kills the member (default SIGKILL) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** PEM files for client TLS: the server uses cert/key and requires clients signed by ca. */
export interface EtcdTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** Client URLs of all members. */
  endpoints: string[];
  /** Kills every member and removes the data dirs (idempotent). */
  stop(): Promise<void>;
}

const live = new Set<EtcdMember>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = (): void => {
    for (const m of live) {
      m.proc.kill('SIGKILL');
      rmSync(m.dataDir, { recursive: true, force: true });
    }
    live.clear();
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

function assertEtcdInstalled(): void {
  const r = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    throw new Error('etcd binary not found: install Debian package etcd-server (scripts/install-deps.sh does)');
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `size` members forming one cluster (1 = single member) and waits until each
 * answers /health. Registers cleanup with `t.after` and at process exit.
 */
export async function startEtcdCluster(t: TestContext | undefined, size = 1, tls?: EtcdTls): Promise<EtcdCluster> {
  assertEtcdInstalled();
  installExitHook();
  const token = `nsm-test-${process.pid}-${Date.now()}`;
  const specs = [];
  for (let i = 0; i < size; i++) {
    specs.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort() });
  }
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
  const members = specs.map((s) => spawnMember(s.name, s.clientPort, s.peerPort, initialCluster, token, tls));
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl),
    async stop() {
      await Promise.all(members.map((m) => m.kill('SIGKILL')));
    },
  };
  t?.after(() => cluster.stop());
  try {
    await Promise.all(members.map((m) => waitHealthy(m, 20_000, tls)));
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

function spawnMember(
  name: string,
  clientPort: number,
  peerPort: number,
  initialCluster: string,
  token: string,
  tls: EtcdTls | undefined,
): EtcdMember {
  const dataDir = mkdtempSync(join(tmpdir(), `nsm-etcd-${name}-`));
  const clientUrl = `${tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const args = [
    `--name=${name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=${initialCluster}`,
    `--initial-cluster-token=${token}`,
    '--initial-cluster-state=new',
    // Fast elections keep failover tests short; also lowers etcd's minimum lease TTL to 1 s.
    '--heartbeat-interval=50',
    '--election-timeout=500',
    '--logger=zap',
    '--log-level=error',
  ];
  if (tls) {
    args.push(`--cert-file=${tls.certFile}`, `--key-file=${tls.keyFile}`, `--trusted-ca-file=${tls.caFile}`, '--client-cert-auth');
  }
  const proc = spawn('etcd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const member: EtcdMember = {
    name,
    clientUrl,
    peerUrl,
    dataDir,
    proc,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
      live.delete(member);
    },
  };
  Object.defineProperty(member, 'stderr', { get: () => stderr });
  live.add(member);
  return member;
}

/** GET /health of a member; with TLS through the given CA and client certificate. */
function health(url: string, tls: EtcdTls | undefined): Promise<string> {
  if (!tls) return fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) }).then((r) => r.text());
  const opts = { ca: readFileSync(tls.caFile), cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), timeout: 1000, servername: '' };
  return new Promise((resolve, reject) => {
    const req = httpsGet(`${url}/health`, opts, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function waitHealthy(m: EtcdMember, timeoutMs: number, tls: EtcdTls | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (m.proc.exitCode !== null) break;
    try {
      const body = JSON.parse(await health(m.clientUrl, tls)) as { health?: string };
      if (body.health === 'true') return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = (m as unknown as { stderr: string }).stderr;
  throw new Error(`etcd member ${m.name} (${m.clientUrl}) not healthy within ${timeoutMs} ms; exit=${m.proc.exitCode}; stderr: ${log}`);
}

/**
 * A throwaway CA and one certificate for 127.0.0.1 (server and client use) made with
 * openssl in a temp dir, removed after the test.
 */
export function makeEtcdTls(t: TestContext): EtcdTls {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-etcd-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = (n: string): string => join(dir, n);
  const ssl = (...args: string[]): void => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr ?? r.error}`);
  };
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=nsm-test-ca', '-keyout', f('ca.key'), '-out', f('ca.pem'));
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('node.key'), '-out', f('node.csr'));
  const ext = 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n';
  spawnSync('sh', ['-c', `printf '${ext}' > ${f('ext.cnf')}`]);
  ssl('x509', '-req', '-in', f('node.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f('ext.cnf'), '-out', f('node.pem'));
  return { caFile: f('ca.pem'), certFile: f('node.pem'), keyFile: f('node.key') };
}

/** The member that is raft leader now, asked through etcdctl. */
export function leaderOf(cluster: EtcdCluster): EtcdMember {
  const r = spawnSync('etcdctl', ['--endpoints', cluster.endpoints.join(','), 'endpoint', 'status', '-w', 'json'], {
    encoding: 'utf8',
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  assert.equal(r.status, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as Array<{ Endpoint: string; Status: { leader: number; header: { member_id: number } } }>;
  const leader = rows.find((row) => String(row.Status.leader) === String(row.Status.header.member_id));
  const member = cluster.members.find((m) => m.clientUrl === leader?.Endpoint);
  assert.ok(member, `no leader in ${r.stdout}`);
  return member;
}
