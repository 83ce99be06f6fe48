// Test helper: runs real `nsm` CLI processes (registry, nsmgr, forwarder, nse, nsc), optionally
// inside a network namespace (`ip netns exec NS node bin/nsm.js ...`), waits for their ready line
// on stdout, and always kills them (after the test, and on process exit). Sockets go in a unique
// directory under /tmp that is removed afterwards.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export const ROOT = new URL('../../../', import.meta.url).pathname;

const live = new Set<ChildProcess>();
let exitHook = false;

function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        // gone
      }
    }
  });
}

function newestMtime(dir: string): number {
  let max = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    max = Math.max(max, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return max;
}

let built = false;
/** Builds dist/ when it is missing or older than src/ (bin/nsm.js runs dist). */
export function ensureBuilt(): void {
  if (built) return;
  let distTime = 0;
  try {
    distTime = statSync(join(ROOT, 'dist/cmd/main.js')).mtimeMs;
  } catch {
    // not built
  }
  if (distTime < newestMtime(join(ROOT, 'src'))) {
    try {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      // tsc still emits on type errors (e.g. someone's half-done file elsewhere): go on with what it wrote.
      const out = String((err as { stdout?: unknown }).stdout ?? err);
      process.stderr.write(`mesh e2e: npm run build reported errors, testing the emitted dist/ anyway:\n${out}\n`);
    }
  }
  built = true;
}

/** A free TCP port on the host (also free in any fresh namespace). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` until it returns true (or throws after `timeoutMs`). */
export async function waitFor(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 200): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await fn()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class MeshProcess {
  readonly name: string;
  /** The nsm subcommand (registry, nsmgr, forwarder, nse, nsc). */
  readonly kind: string;
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<ExitInfo>;
  exit: ExitInfo | undefined;

  constructor(name: string, kind: string, child: ChildProcess) {
    this.name = name;
    this.kind = kind;
    this.child = child;
    child.stdout!.on('data', (d) => (this.stdout += String(d)));
    child.stderr!.on('data', (d) => (this.stderr += String(d)));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        this.exit = { code, signal };
        resolve(this.exit);
      });
      child.once('error', () => {
        live.delete(child);
        this.exit ??= { code: -1, signal: null };
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** stdout lines so far. */
  lines(): string[] {
    return this.stdout.split('\n').filter(Boolean);
  }

  /** The last lines of stderr, for failure messages. */
  tail(n = 15): string {
    return this.stderr.split('\n').slice(-n).join('\n');
  }

  /** Waits for a stdout line matching `re`; rejects when the process exits first or on timeout (default 15 s, or NSM_MESH_WAIT_MS). */
  async waitLine(re: RegExp, timeoutMs = Number(process.env.NSM_MESH_WAIT_MS ?? 15_000)): Promise<string> {
    const start = Date.now();
    for (;;) {
      const hit = this.lines().find((l) => re.test(l));
      if (hit) return hit;
      if (!this.alive) throw new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before printing ${re}:\n${this.tail()}`);
      if (Date.now() - start > timeoutMs) throw new Error(`${this.name} printed no ${re} within ${timeoutMs} ms:\n${this.tail()}`);
      await sleep(50);
    }
  }

  signal(sig: NodeJS.Signals): void {
    if (this.alive) this.child.kill(sig);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it exited. */
  async stop(graceMs = 5000): Promise<ExitInfo> {
    if (!this.alive) return this.exit!;
    this.signal('SIGTERM');
    const t = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const info = await this.exited;
    clearTimeout(t);
    return info;
  }

  /** SIGKILL and wait. */
  async kill(): Promise<ExitInfo> {
    this.signal('SIGKILL');
    return this.exited;
  }
}

export interface SpawnOptions {
  /** Run inside this named network namespace. */
  netns?: string;
  env?: Record<string, string>;
}

export interface NscSummary {
  id: string;
  service: string;
  endpoint: string;
  interface: string;
  mechanism: string;
  remoteMechanism?: string;
  srcIp: string;
  dstIp: string;
  srcIps?: string[];
  dstIps?: string[];
  path: string[];
}

/** One mesh per test: its processes and its socket directory are cleaned up in t.after. */
export class Mesh {
  readonly dir: string;
  readonly procs: MeshProcess[] = [];
  /** --max-token-lifetime for every component (when set). */
  readonly lifetime: string | undefined;

  constructor(t: TestContext, opts: { lifetime?: string } = {}) {
    ensureBuilt();
    installExitHook();
    this.lifetime = opts.lifetime;
    this.dir = mkdtempSync(join(tmpdir(), 'nsm-e2e-mesh-'));
    t.after(() => this.cleanup());
  }

  private get lifetimeArgs(): string[] {
    return this.lifetime ? ['--max-token-lifetime', this.lifetime] : [];
  }

  /** unix:// URL of a socket in this mesh's directory. */
  sock(name: string): string {
    return `unix://${join(this.dir, `${name}.sock`)}`;
  }

  /** Spawns `nsm ARGS` (inside `netns` when given). */
  spawn(name: string, args: string[], opts: SpawnOptions = {}): MeshProcess {
    // NSM_MESH_NODE_ARGS: extra node flags for every mesh process (e.g. --cpu-prof for bench diagnostics).
    const nodeArgs = [...(process.env.NSM_MESH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), 'bin/nsm.js', ...args];
    const [cmd, argv] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
    const child = spawn(cmd, argv, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Logs are captured (for failure messages and log assertions), never printed: always at info.
      env: { ...process.env, NSM_LOG_LEVEL: 'info', ...opts.env },
    });
    live.add(child);
    const p = new MeshProcess(name, args[0] ?? '', child);
    this.procs.push(p);
    return p;
  }

  async registry(opts: { listen: string; netns?: string; env?: Record<string, string> }): Promise<MeshProcess> {
    const p = this.spawn('registry', ['registry', '--listen', opts.listen], opts);
    await p.waitLine(/^registry listening on /);
    return p;
  }

  /** `withForwarder`: also runs the node's forwarder in the nsmgr's process (`--with-forwarder --underlay-ip IP`). */
  async nsmgr(opts: { name: string; listen: string; registry: string; tcpListen?: string; netns?: string; env?: Record<string, string>; withForwarder?: { underlayIp: string; listen?: string; backgroundRemoval?: boolean } }): Promise<MeshProcess> {
    const args = ['nsmgr', '--name', opts.name, '--listen', opts.listen, '--registry', opts.registry, ...this.lifetimeArgs];
    if (opts.tcpListen) args.push('--tcp-listen', opts.tcpListen);
    if (opts.withForwarder) args.push('--with-forwarder', '--underlay-ip', opts.withForwarder.underlayIp, ...(opts.withForwarder.listen ? ['--forwarder-listen', opts.withForwarder.listen] : []), ...(opts.withForwarder.backgroundRemoval ? ['--background-removal'] : []));
    const p = this.spawn(opts.name, args, opts);
    await p.waitLine(/^nsmgr .* listening on /);
    if (opts.withForwarder) await p.waitLine(/^forwarder .* listening on /);
    return p;
  }

  async forwarder(opts: { name: string; listen: string; nsmgr: string; underlayIp: string; netns?: string; remoteMechanisms?: string[]; srv6Via?: string; env?: Record<string, string> }): Promise<MeshProcess> {
    const args = ['forwarder', '--name', opts.name, '--listen', opts.listen, '--nsmgr', opts.nsmgr, '--underlay-ip', opts.underlayIp, ...this.lifetimeArgs];
    if (opts.remoteMechanisms) args.push('--remote-mechanisms', opts.remoteMechanisms.join(','));
    if (opts.srv6Via) args.push('--srv6-via', opts.srv6Via);
    const p = this.spawn(opts.name, args, opts);
    await p.waitLine(/^forwarder .* listening on /);
    return p;
  }

  async nse(opts: { name: string; nsmgr: string; workloadNetns: string; cidr?: string; service?: string; netns?: string; env?: Record<string, string> }): Promise<MeshProcess> {
    const args = ['nse', 'icmp-responder', '--name', opts.name, '--nsmgr', opts.nsmgr, '--netns', opts.workloadNetns, '--listen', this.sock(`nse-${opts.name}`), ...this.lifetimeArgs];
    if (opts.cidr) args.push('--cidr', opts.cidr);
    if (opts.service) args.push('--service', opts.service);
    const p = this.spawn(opts.name, args, opts);
    await p.waitLine(/^nse .* serving /);
    return p;
  }

  /** Starts an nsc (without waiting). */
  spawnNsc(opts: { name: string; nsmgr: string; workloadNetns: string; urls: string[]; netns?: string; extra?: string[]; env?: Record<string, string> }): MeshProcess {
    const args = ['nsc', '--name', opts.name, '--nsmgr', opts.nsmgr, '--netns', opts.workloadNetns, ...this.lifetimeArgs, ...(opts.extra ?? []), ...opts.urls];
    return this.spawn(opts.name, args, { ...(opts.netns ? { netns: opts.netns } : {}), ...(opts.env ? { env: opts.env } : {}) });
  }

  /** Starts an nsc and waits for its connection line (one URL). */
  async nsc(opts: { name: string; nsmgr: string; workloadNetns: string; urls: string[]; netns?: string; extra?: string[] }): Promise<{ proc: MeshProcess; conn: NscSummary }> {
    const proc = this.spawnNsc(opts);
    const line = await proc.waitLine(/^\{/, 20_000);
    return { proc, conn: JSON.parse(line) as NscSummary };
  }

  /** Kills every process of this mesh (SIGTERM, then SIGKILL) and removes the socket directory. */
  async cleanup(): Promise<void> {
    // Clients first (their Close still has a mesh to travel), then everything else.
    // NSM_MESH_STOP_GRACE_MS: a longer wait before SIGKILL (e.g. for --cpu-prof profiles to be written on a loaded machine).
    const grace = Number(process.env.NSM_MESH_STOP_GRACE_MS ?? 3000);
    await Promise.all(this.procs.filter((p) => p.kind === 'nsc').map((p) => p.stop(grace)));
    await Promise.all(this.procs.map((p) => p.stop(grace)));
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Process logs, for failure messages. */
  logs(n = 10): string {
    return this.procs.map((p) => `--- ${p.name} (${p.alive ? 'alive' : JSON.stringify(p.exit)})\n${p.tail(n)}`).join('\n');
  }
}

/** Links in a namespace other than loopback, as `name` strings. */
export function links(netns: string): string[] {
  const out = execFileSync('ip', ['-n', netns, '-o', 'link', 'show'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':')[1]!.trim().split('@')[0]!)
    .filter((n) => n !== 'lo');
}

/** Addresses (CIDR) of one family on an interface in a namespace (IPv6: global scope only); [] when the interface is missing. */
export function addrs(netns: string, ifname: string, family: 4 | 6 = 4): string[] {
  try {
    const args = ['-n', netns, '-o', `-${family}`, 'addr', 'show', 'dev', ifname, ...(family === 6 ? ['scope', 'global'] : [])];
    const out = execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return [...out.matchAll(family === 6 ? /inet6 (\S+)/g : /inet (\S+)/g)].map((m) => m[1]!);
  } catch {
    return [];
  }
}

/** IPv6 link-local addresses of an interface ("fe80::.../64"). */
export function linkLocalAddrs(netns: string, ifname: string): string[] {
  try {
    const out = execFileSync('ip', ['-n', netns, '-o', '-6', 'addr', 'show', 'dev', ifname, 'scope', 'link'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return [...out.matchAll(/inet6 (\S+)/g)].map((m) => m[1]!);
  } catch {
    return [];
  }
}

/** Routes of one family in a namespace's main table, as `ip -o route` lines (IPv6: without link-local and multicast). */
export function routes(netns: string, family: 4 | 6 = 4): string[] {
  const out = execFileSync('ip', ['-n', netns, '-o', `-${family}`, 'route', 'show', 'table', 'main'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out.split('\n').filter((l) => l && !/^(fe80::|ff00::|multicast)/.test(l));
}

/** The address part of a CIDR. */
export const ipOf = (cidr: string) => cidr.split('/')[0]!;

/**
 * iperf3 through a connection: a one-off server in `serverNs` on `serverIp`, a 2 s client in
 * `clientNs`; returns the received bits per second.
 */
export async function iperf(serverNs: string, serverIp: string, clientNs: string, seconds = 2): Promise<number> {
  const port = String(5201 + Math.floor(Math.random() * 1000));
  const server = spawn('ip', ['netns', 'exec', serverNs, 'iperf3', '-s', '-1', '-B', serverIp, '-p', port], { stdio: 'ignore' });
  live.add(server);
  server.once('exit', () => live.delete(server));
  try {
    let out = '';
    await waitFor(
      'iperf3 client run',
      () => {
        try {
          out = execFileSync('ip', ['netns', 'exec', clientNs, 'iperf3', '-c', serverIp, '-p', port, '-t', String(seconds), '-J'], {
            encoding: 'utf8',
            timeout: (seconds + 8) * 1000,
            stdio: ['ignore', 'pipe', 'ignore'],
          });
          return !/"error":\s*"unable to connect/.test(out); // -J may exit 0 with an error
        } catch {
          return false; // server not listening yet
        }
      },
      5000,
      100,
    );
    const json = JSON.parse(out) as { error?: string; end?: { sum_received?: { bits_per_second: number } } };
    const bps = json.end?.sum_received?.bits_per_second;
    if (bps === undefined) throw new Error(`iperf3 ${clientNs} -> ${serverIp}: ${json.error ?? out.slice(0, 500)}`);
    return bps;
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
  }
}
