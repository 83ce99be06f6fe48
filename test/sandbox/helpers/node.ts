// A sandbox node: an nsmgr (unix socket + loopback TCP), forwarder(s) over the node's
// FakeKernel with a ledger in the sandbox directory, and the endpoints, passthroughs
// and clients started on it. Each component can die and come back at the same address.
import { join } from 'node:path';
import { MeshClient } from '../../../src/components/client.js';
import { startEndpoint, type RunningEndpoint } from '../../../src/components/endpoint.js';
import { startForwarder, type RunningForwarder } from '../../../src/components/forwarder.js';
import { startNsmgr, type RunningNsmgr } from '../../../src/components/nsmgr.js';
import { startPassthrough } from '../../../src/components/passthrough.js';
import { ledgeredDataplane } from '../../../src/dataplane/kernel-dataplane.js';
import type { Clock } from '../../../src/sdk/core/clock.js';
import { SandboxClient } from './client.js';
import { freePort, log } from './common.js';
import type { NamespaceFacts } from '../../../src/sdk/networkservice/namespace-ownership.js';

/** The sandbox's namespaces are names in a fake kernel: every caller (one test process) may use any of them. */
const sandboxNamespaces: NamespaceFacts = {
  idOf: async (url) => url,
  protectedIds: async () => [],
  idOfPid: async () => undefined,
  privileged: async () => true,
};
import { FakeKernel } from './fake-kernel.js';
import type { Sandbox } from './sandbox.js';

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
    this.nsmgr = await startNsmgr({ name: `nsmgr-${this.index}`, listenUrl: this.nsmgrUrl, tcpListenUrl: this.nsmgrTcpUrl, registryUrl: this.sb.registryUrl, log: log(`nsmgr-${this.index}`), namespaces: sandboxNamespaces, ...this.common });
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
