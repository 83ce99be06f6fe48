// The sandbox: a whole mesh in one process, built like upstream's
// `sandbox.NewBuilder(...).SetNodesCount(2).Build()`. A registry and N nodes, each an
// nsmgr and forwarder(s) over a fake kernel, plus endpoints and clients, all started
// with the real component code (startRegistry/startNsmgr/startForwarder/startEndpoint/
// startPassthrough/MeshClient) and so the real chains, on unix sockets in a temporary
// directory and loopback TCP between nsmgrs. Needs no root; nothing outside the
// temporary directory is touched. One FakeClock drives tokens, expiry and refresh.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { NetworkService, type Connection } from '../../../src/api/index.js';
import { MeshClient, type KernelRequest } from '../../../src/components/client.js';
import { startEndpoint, type RunningEndpoint } from '../../../src/components/endpoint.js';
import { startForwarder, type RunningForwarder } from '../../../src/components/forwarder.js';
import { startNsmgr, type RunningNsmgr } from '../../../src/components/nsmgr.js';
import { startPassthrough } from '../../../src/components/passthrough.js';
import { ledgeredDataplane } from '../../../src/dataplane/kernel-dataplane.js';
import { startRegistry, type RunningRegistry } from '../../../src/registry/server.js';
import type { Clock } from '../../../src/sdk/core/clock.js';
import { createLogger, type Logger } from '../../../src/sdk/core/log.js';
import type { HealState } from '../../../src/sdk/networkservice/heal.js';
import { P } from '../../../src/sdk/networkservice/mechanisms.js';
import { registryClients } from '../../../src/sdk/registry/client.js';
import { FakeClock } from './fake-clock.js';
import { FakeKernel } from './fake-kernel.js';

/** A free loopback TCP port (the nsmgr registers its public URL before it binds, so port 0 will not do). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

const log = (name: string): Logger => createLogger(name, process.env.NSM_LOG_LEVEL ?? 'silent');

export class SandboxBuilder {
  private nodes = 1;
  private forwarders: Record<string, string>[] = [{}];
  private tokenLifetimeMs = 10 * 60_000;

  constructor(private readonly t?: TestContext) {}

  setNodesCount(n: number): this {
    this.nodes = n;
    return this;
  }

  /** One forwarder per entry on every node, with these labels (default: one, no extra labels). */
  setForwarders(labels: Record<string, string>[]): this {
    this.forwarders = labels;
    return this;
  }

  setTokenLifetime(ms: number): this {
    this.tokenLifetimeMs = ms;
    return this;
  }

  async build(): Promise<Sandbox> {
    const sb = new Sandbox(this.tokenLifetimeMs);
    this.t?.after(() => sb.close());
    try {
      await sb.startRegistry();
      for (let i = 0; i < this.nodes; i++) {
        const node = new SandboxNode(sb, i + 1);
        sb.nodes.push(node);
        await node.startNsmgr();
        for (const [k, labels] of this.forwarders.entries()) await node.startForwarder(k === 0 ? `forwarder-${i + 1}` : `forwarder-${i + 1}-${k + 1}`, labels);
      }
    } catch (err) {
      await sb.close();
      throw err;
    }
    return sb;
  }
}

/** `newSandbox(t).setNodesCount(2).build()`: closed when the test ends. */
export function newSandbox(t?: TestContext): SandboxBuilder {
  return new SandboxBuilder(t);
}

export class Sandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'nsm-sandbox-'));
  readonly clock = new FakeClock();
  readonly nodes: SandboxNode[] = [];
  readonly registryUrl: string;
  registry?: RunningRegistry;
  /** Live endpoints by name (the fake liveness check asks here). */
  readonly live = new Map<string, SandboxEndpoint>();
  private readonly clients: SandboxClient[] = [];
  private closed = false;

  constructor(readonly tokenLifetimeMs: number) {
    this.registryUrl = `unix://${this.dir}/registry.sock`;
  }

  async startRegistry(): Promise<void> {
    this.registry = await startRegistry({ listen: this.registryUrl, log: log('registry') });
  }

  async stopRegistry(): Promise<void> {
    await this.registry?.stop();
    this.registry = undefined;
  }

  /** The registry dies and comes back empty (memory backend), at the same URL. */
  async restartRegistry(): Promise<void> {
    await this.stopRegistry();
    await this.startRegistry();
  }

  /** Registers (or replaces) a NetworkService, e.g. with matches. */
  async registerService(ns: Partial<NetworkService>): Promise<void> {
    await registryClients(this.registryUrl).ns.register(NetworkService.fromPartial(ns));
  }

  /** Names of the endpoints registered for `service` in the registry. */
  async registeredEndpoints(service: string): Promise<string[]> {
    const names: string[] = [];
    for await (const r of registryClients(this.registryUrl).nse.find({ networkServiceEndpoint: { networkServiceNames: [service] } })) {
      if (r.networkServiceEndpoint) names.push(r.networkServiceEndpoint.name);
    }
    return names.sort();
  }

  /** Every link on every node's fake kernel ("node: netns|name"). */
  allLinks(): string[] {
    return this.nodes.flatMap((n) => n.kernel.list().map((l) => `${n.name}: ${l}`));
  }

  /** The fake data-path check: what a ping of the connection's dst would say. */
  readonly liveness = async (conn: Connection): Promise<boolean> => {
    const netns = conn.mechanism?.parameters[P.inodeURL] ?? '';
    const ifname = conn.mechanism?.parameters[P.name] ?? '';
    const linked = this.nodes.some((n) => n.kernel.link(netns, ifname)?.alias === `nsm:${conn.id}`);
    return linked && this.live.has(conn.networkServiceEndpointName);
  };

  track(c: SandboxClient): void {
    this.clients.push(c);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.clients.map((c) => c.closeAll()));
    for (const n of this.nodes) await n.stopAll();
    await this.stopRegistry();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface EndpointSpec {
  name: string;
  services?: string[];
  labels?: Record<string, string>;
  /** Address pool (icmp-responder-like endpoints; default 169.254.N.0/24 by start order). */
  cidr?: string;
}

export interface SandboxEndpoint {
  name: string;
  node: SandboxNode;
  netnsUrl: string;
  running: RunningEndpoint;
  /** For passthrough endpoints: the namespaces it made routers of. */
  routers?: string[];
  stop(): Promise<void>;
}

let cidrCounter = 0;

export class SandboxNode {
  readonly name: string;
  readonly kernel: FakeKernel;
  readonly nsmgrUrl: string;
  nsmgrTcpUrl = '';
  nsmgr?: RunningNsmgr;
  readonly forwarders = new Map<string, RunningForwarder>();
  private readonly forwarderLabels = new Map<string, Record<string, string>>();
  readonly endpoints = new Map<string, SandboxEndpoint>();
  readonly dir: string;

  constructor(
    readonly sb: Sandbox,
    readonly index: number,
  ) {
    this.name = `node-${index}`;
    this.kernel = new FakeKernel(this.name);
    this.dir = join(sb.dir, this.name);
    this.nsmgrUrl = `unix://${this.dir}/nsmgr.sock`;
  }

  private get common() {
    return { clock: this.sb.clock as Clock, tokenLifetimeMs: this.sb.tokenLifetimeMs, stopGraceMs: 0 };
  }

  async startNsmgr(): Promise<void> {
    this.nsmgrTcpUrl ||= `tcp://127.0.0.1:${await freePort()}`;
    this.nsmgr = await startNsmgr({ name: `nsmgr-${this.index}`, listenUrl: this.nsmgrUrl, tcpListenUrl: this.nsmgrTcpUrl, registryUrl: this.sb.registryUrl, log: log(`nsmgr-${this.index}`), ...this.common });
  }

  async stopNsmgr(): Promise<void> {
    await this.nsmgr?.stop();
    this.nsmgr = undefined;
  }

  async restartNsmgr(): Promise<void> {
    await this.stopNsmgr();
    await this.startNsmgr();
  }

  async startForwarder(name = `forwarder-${this.index}`, labels = this.forwarderLabels.get(name) ?? {}): Promise<RunningForwarder> {
    this.forwarderLabels.set(name, labels);
    const fwd = await startForwarder({
      name,
      listenUrl: `unix://${this.dir}/${name}.sock`,
      nsmgrUrl: this.nsmgrUrl,
      underlayIp: `198.18.0.${this.index}`,
      labels,
      dataplane: ledgeredDataplane(this.kernel, { ledgerFile: join(this.dir, `${name}.links.json`) }),
      log: log(name),
      ...this.common,
    });
    this.forwarders.set(name, fwd);
    return fwd;
  }

  async stopForwarder(name = `forwarder-${this.index}`): Promise<void> {
    await this.forwarders.get(name)?.stop();
    this.forwarders.delete(name);
  }

  /** The forwarder dies and a new life of it starts (same name, socket and ledger; the kernel keeps its links). */
  async restartForwarder(name = `forwarder-${this.index}`): Promise<void> {
    await this.stopForwarder(name);
    await this.startForwarder(name);
  }

  private endpointOf(name: string, running: RunningEndpoint, netnsUrl: string, routers?: string[]): SandboxEndpoint {
    const ep: SandboxEndpoint = {
      name,
      node: this,
      netnsUrl,
      running,
      ...(routers ? { routers } : {}),
      stop: async () => {
        this.sb.live.delete(name);
        this.endpoints.delete(name);
        await running.stop();
      },
    };
    this.endpoints.set(name, ep);
    this.sb.live.set(name, ep);
    return ep;
  }

  /** An icmp-responder-like endpoint: hands out /32 pairs from its CIDR. */
  async newEndpoint(spec: EndpointSpec): Promise<SandboxEndpoint> {
    const netnsUrl = `file:///sandbox/${this.name}/${spec.name}`;
    const running = await startEndpoint({
      name: spec.name,
      services: spec.services ?? ['icmp-responder'],
      labels: spec.labels ?? {},
      cidrs: [spec.cidr ?? `169.254.${++cidrCounter % 250}.0/24`],
      listenUrl: `unix://${this.dir}/${spec.name}.sock`,
      nsmgrUrl: this.nsmgrUrl,
      netnsUrl,
      log: log(spec.name),
      ...this.common,
    });
    return this.endpointOf(spec.name, running, netnsUrl);
  }

  /** A passthrough endpoint (a link of a chain): requests its service onward from this node's nsmgr. */
  async newPassthrough(spec: Omit<EndpointSpec, 'cidr'>): Promise<SandboxEndpoint> {
    const netnsUrl = `file:///sandbox/${this.name}/${spec.name}`;
    const routers: string[] = [];
    const running = await startPassthrough({
      name: spec.name,
      services: spec.services ?? ['icmp-responder'],
      labels: spec.labels ?? {},
      listenUrl: `unix://${this.dir}/${spec.name}.sock`,
      nsmgrUrl: this.nsmgrUrl,
      netnsUrl,
      enableForwarding: async (ns) => void routers.push(ns),
      log: log(spec.name),
      ...this.common,
    });
    return this.endpointOf(spec.name, running, netnsUrl, routers);
  }

  /** A client (NSC) in its own fake namespace, using the real client chain. */
  async newClient(opts: { name?: string; heal?: boolean; livenessIntervalMs?: number; clock?: Clock } = {}): Promise<SandboxClient> {
    const c = new SandboxClient(this, opts.name ?? `nsc-${this.index}`);
    c.mesh = await MeshClient.create({
      name: c.name,
      nsmgrUrl: this.nsmgrUrl,
      log: log(c.name),
      tokenLifetimeMs: this.sb.tokenLifetimeMs,
      clock: opts.clock ?? this.sb.clock,
      heal: opts.heal ?? false,
      liveness: this.sb.liveness,
      ...(opts.livenessIntervalMs ? { livenessIntervalMs: opts.livenessIntervalMs } : {}),
      onState: (id, state, conn) => c.onState(id, state, conn),
    });
    this.sb.track(c);
    return c;
  }

  async stopAll(): Promise<void> {
    for (const ep of [...this.endpoints.values()]) await ep.stop().catch(() => undefined);
    for (const name of [...this.forwarders.keys()]) await this.stopForwarder(name).catch(() => undefined);
    await this.stopNsmgr().catch(() => undefined);
  }
}

export class SandboxClient {
  mesh!: MeshClient;
  readonly netnsUrl: string;
  /** Open connections by id (latest version: heal replaces them). */
  readonly conns = new Map<string, Connection>();
  readonly states: { id: string; state: HealState }[] = [];
  private ifCounter = 0;

  constructor(
    readonly node: SandboxNode,
    readonly name: string,
  ) {
    this.netnsUrl = `file:///sandbox/${node.name}/${name}`;
  }

  onState(id: string, state: HealState, conn?: Connection): void {
    this.states.push({ id, state });
    if (conn) this.conns.set(id, conn);
  }

  async request(service = 'icmp-responder', r: Partial<Omit<KernelRequest, 'service' | 'netnsUrl'>> = {}): Promise<Connection> {
    const conn = await this.mesh.request({ service, ifname: r.ifname ?? `nsm-${++this.ifCounter}`, netnsUrl: this.netnsUrl, timeoutMs: r.timeoutMs ?? 5000, ...r });
    this.conns.set(conn.id, conn);
    return conn;
  }

  async close(conn: Connection): Promise<void> {
    const latest = this.conns.get(conn.id) ?? conn;
    this.conns.delete(conn.id);
    await this.mesh.close(latest, 5000);
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.conns.values()].map((c) => this.close(c)));
  }

  /** The client's end of a connection in its node's fake kernel. */
  link(conn: Connection) {
    return this.node.kernel.link(this.netnsUrl, conn.mechanism?.parameters[P.name] ?? '');
  }
}
