// Starts real etcd members on 127.0.0.1 (free ports, temp data dirs) for tests, waits
// until they are healthy, and always kills them and removes their data dirs afterwards.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
export async function startEtcdCluster(t: TestContext | undefined, size = 1): Promise<EtcdCluster> {
  assertEtcdInstalled();
  installExitHook();
  const token = `nsm-test-${process.pid}-${Date.now()}`;
  const specs = [];
  for (let i = 0; i < size; i++) {
    specs.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort() });
  }
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
  const members = specs.map((s) => spawnMember(s.name, s.clientPort, s.peerPort, initialCluster, token));
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl),
    async stop() {
      await Promise.all(members.map((m) => m.kill('SIGKILL')));
    },
  };
  t?.after(() => cluster.stop());
  try {
    await Promise.all(members.map((m) => waitHealthy(m, 20_000)));
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

function spawnMember(name: string, clientPort: number, peerPort: number, initialCluster: string, token: string): EtcdMember {
  const dataDir = mkdtempSync(join(tmpdir(), `nsm-etcd-${name}-`));
  const clientUrl = `http://127.0.0.1:${clientPort}`;
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

async function waitHealthy(m: EtcdMember, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (m.proc.exitCode !== null) break;
    try {
      const res = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { health?: string };
      if (body.health === 'true') return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = (m as unknown as { stderr: string }).stderr;
  throw new Error(`etcd member ${m.name} (${m.clientUrl}) not healthy within ${timeoutMs} ms; exit=${m.proc.exitCode}; stderr: ${log}`);
}
