// A node's kernel as the sandbox's forwarders see it: links in named namespaces,
// their addresses and routes, kept in memory. It outlives forwarder restarts (as
// the real kernel does), records every operation, and can be told to fail some.
import { AlreadyExistsError, FailedPreconditionError } from '../../../src/api/errors.js';
import type { ExistingLink, ForwarderDataplane } from '../../../src/sdk/networkservice/program-dataplane.js';

export interface FakeLink {
  netns: string;
  name: string;
  kind: 'veth' | 'vxlan';
  alias: string;
  mtu?: number;
  /** veth: the other end. */
  peer?: { netns: string; name: string };
  vni?: number;
  local?: string;
  remote?: string;
  addrs: string[];
  routes: { prefix: string; via?: string; dev: string }[];
}

const keyOf = (netns: string, name: string) => `${netns}|${name}`;

export class FakeKernel implements ForwarderDataplane {
  readonly links = new Map<string, FakeLink>();
  /** Every operation, in order: "createVeth ns|name", "deleteLink ns|name", ... */
  readonly ops: string[] = [];
  /** Operations (by name) that fail once each time they are listed here. */
  readonly failNext: string[] = [];

  constructor(readonly node: string) {}

  private failIfAsked(op: string): void {
    const i = this.failNext.indexOf(op);
    if (i >= 0) {
      this.failNext.splice(i, 1);
      throw new FailedPreconditionError(`fake kernel of ${this.node}: ${op} failed (injected)`);
    }
  }

  private add(link: FakeLink): void {
    if (this.links.has(keyOf(link.netns, link.name))) throw new AlreadyExistsError(`interface "${link.name}" in ${link.netns} already exists`);
    this.links.set(keyOf(link.netns, link.name), link);
  }

  private linkOf(netns: string, name: string): FakeLink {
    const l = this.links.get(keyOf(netns, name));
    if (!l) throw new FailedPreconditionError(`fake kernel of ${this.node}: no interface "${name}" in ${netns}`);
    return l;
  }

  async createVeth(spec: Parameters<ForwarderDataplane['createVeth']>[0]): Promise<void> {
    this.ops.push(`createVeth ${keyOf(spec.netns, spec.name)}`);
    this.failIfAsked('createVeth');
    if (this.links.has(keyOf(spec.peerNetns, spec.peerName))) throw new AlreadyExistsError(`interface "${spec.peerName}" in ${spec.peerNetns} already exists`);
    const common = { kind: 'veth' as const, alias: spec.alias, addrs: [], routes: [], ...(spec.mtu ? { mtu: spec.mtu } : {}) };
    this.add({ ...common, netns: spec.netns, name: spec.name, peer: { netns: spec.peerNetns, name: spec.peerName } });
    this.links.set(keyOf(spec.peerNetns, spec.peerName), { ...common, addrs: [], routes: [], netns: spec.peerNetns, name: spec.peerName, peer: { netns: spec.netns, name: spec.name } });
  }

  async createVxlan(spec: Parameters<ForwarderDataplane['createVxlan']>[0]): Promise<void> {
    this.ops.push(`createVxlan ${keyOf(spec.targetNetns, spec.name)}`);
    this.failIfAsked('createVxlan');
    this.add({ netns: spec.targetNetns, name: spec.name, kind: 'vxlan', alias: spec.alias, vni: spec.vni, local: spec.local, remote: spec.remote, addrs: [], routes: [], ...(spec.mtu ? { mtu: spec.mtu } : {}) });
  }

  async addAddress(netns: string, ifname: string, cidr: string): Promise<void> {
    this.ops.push(`addAddress ${keyOf(netns, ifname)} ${cidr}`);
    this.failIfAsked('addAddress');
    const l = this.linkOf(netns, ifname);
    if (!l.addrs.includes(cidr)) l.addrs.push(cidr);
  }

  async addRoute(netns: string, route: { prefix: string; via?: string; dev: string }): Promise<void> {
    this.ops.push(`addRoute ${keyOf(netns, route.dev)} ${route.prefix}`);
    this.failIfAsked('addRoute');
    const l = this.linkOf(netns, route.dev);
    l.routes = [...l.routes.filter((r) => r.prefix !== route.prefix), { ...route }];
  }

  async deleteLink(netns: string, name: string): Promise<boolean> {
    this.ops.push(`deleteLink ${keyOf(netns, name)}`);
    const l = this.links.get(keyOf(netns, name));
    if (!l) return false;
    this.links.delete(keyOf(netns, name));
    if (l.peer) this.links.delete(keyOf(l.peer.netns, l.peer.name));
    return true;
  }

  async linkInfo(netns: string, name: string): Promise<ExistingLink | undefined> {
    const l = this.links.get(keyOf(netns, name));
    return l ? { alias: l.alias, kind: l.kind, ...(l.vni !== undefined ? { vni: l.vni } : {}), ...(l.remote ? { remote: l.remote } : {}) } : undefined;
  }

  /** The link `name` in `netns`, if any. */
  link(netns: string, name: string): FakeLink | undefined {
    return this.links.get(keyOf(netns, name));
  }

  /** Links tagged for a connection id (alias nsm:<id>). */
  linksOf(connId: string): FakeLink[] {
    return [...this.links.values()].filter((l) => l.alias === `nsm:${connId}`);
  }

  /** Sorted "netns|name" of every link. */
  list(): string[] {
    return [...this.links.keys()].sort();
  }
}
