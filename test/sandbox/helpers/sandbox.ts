// The sandbox: a whole mesh in one process, built like upstream's
// `sandbox.NewBuilder(...).SetNodesCount(2).Build()`. A registry and N nodes (node.ts),
// each an nsmgr and forwarder(s) over a fake kernel, plus endpoints and clients, all
// started with the real component code (startRegistry/startNsmgr/startForwarder/
// startEndpoint/startPassthrough/MeshClient) and so the real chains, on unix sockets in
// a temporary directory and loopback TCP between nsmgrs. Needs no root; nothing outside
// the temporary directory is touched. One FakeClock drives tokens, expiry and refresh.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { NetworkService, type Connection } from '../../../src/api/index.js';
import { startRegistry, type RunningRegistry } from '../../../src/components/registry.js';
import { P } from '../../../src/sdk/tools/mechanisms.js';
import type { LivenessCheck, LivenessVerdict } from '../../../src/sdk/tools/liveness.js';
import { registryClients } from '../../../src/sdk/registry/client.js';
import type { SandboxClient } from './client.js';
import { log } from './common.js';
import { FakeClock } from './fake-clock.js';
import { SandboxNode, type SandboxEndpoint } from './node.js';

export { SandboxNode, type SandboxEndpoint, type EndpointSpec } from './node.js';
export { SandboxClient } from './client.js';

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
  readonly liveness: LivenessCheck = {
    check: async (conn: Connection): Promise<LivenessVerdict> => {
      const netns = conn.mechanism?.parameters[P.inodeURL] ?? '';
      const ifname = conn.mechanism?.parameters[P.name] ?? '';
      const linked = this.nodes.some((n) => n.kernel.link(netns, ifname)?.alias === `nsm:${conn.id}`);
      return linked && this.live.has(conn.networkServiceEndpointName) ? 'alive' : 'dead';
    },
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
