// KernelDriver: typed, validated kernel operations (veth, vxlan, bridge, addresses, routes, MTU,
// tagging); the hot path (veth/VXLAN, alias, addresses, routes, deletion) goes over in-process rtnetlink
// when the FFI loads, the rest (and everything when it does not) over one long-lived `ip -batch` channel
// per namespace; rolls back on failure.
import type { Logger } from 'pino';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, MeshError, Status } from '../api/errors.js';
import { ALIAS_PREFIX } from './alias.js';
import { IpBatchPool, IpCommandError, type IpBatchChannel } from './ip-batch.js';
import { describeNetns, deleteNamedNetns, netnsKey, netnsPath, parseNetns, resolveNetnsId, resolveNetnsIdNow, type NetnsLike, type NetnsRef } from './netns.js';
import { RtnlDriver } from './rtnl-driver.js';
import { VxlanAnchors } from './vxlan-anchor.js';
import { closeCounterSocketFor, closeCounterSockets } from './link-stats.js';
import { listLinksIn, writeSysctlIn, type LinkInfo } from './ns-exec.js';
import { checkAlias, checkCidr, checkIfName, checkIp, checkMtu, checkPort, checkSysctl, checkVni } from './validate.js';

export interface KernelDriverOptions {
  logger?: Logger;
  /** Per-command timeout of the ip channels (default 10 s). */
  timeoutMs?: number;
  /** Idle time after which a non-host channel's process exits (default 5 s; it pins its namespace). */
  idleMs?: number;
  /** Hot-path operations over rtnetlink (default: yes unless NSM_RTNL=0; ip when the FFI cannot load). */
  rtnl?: boolean;
  /** Over rtnetlink: a VXLAN anchor per underlay keeps its UDP socket open (vxlan-anchor.ts; default: yes unless NSM_VXLAN_ANCHOR=0). */
  vxlanAnchor?: boolean;
  /**
   * Over rtnetlink: links asked for with `noLinkLocal` come up without the kernel's IPv6 link-local address,
   * given one by addLinkLocal when their connection carries IPv6 (default: yes unless NSM_LINK_LOCAL=kernel).
   */
  linkLocalOnDemand?: boolean;
  /**
   * TX and RX queues of each veth end (default 1 unless NSM_VETH_QUEUES says otherwise; `kernel` or 0: the
   * kernel's default, one per possible CPU, of which it then keeps one in use after a wait for RCU).
   */
  vethQueues?: number;
}

export interface VethSpec {
  name: string;
  netns: NetnsLike;
  peerName: string;
  peerNetns: NetnsLike;
  alias: string;
  mtu?: number;
  /** Made ahead of need (while a Request travels): over rtnetlink it is sent from a worker thread, so the event loop stays free. */
  background?: boolean;
  /** No IPv6 link-local address from the kernel when it comes up (see KernelDriver.addLinkLocal). */
  noLinkLocal?: boolean;
}

export interface VxlanSpec {
  name: string;
  /** Where the underlay lives (the UDP socket and routes); default the host namespace. */
  netns?: NetnsLike;
  /** Where the interface goes; default `netns`. Its underlay stays in `netns`. */
  targetNetns?: NetnsLike;
  vni: number;
  local: string;
  /** The peer's underlay address; absent: no default destination yet (set later with setVxlanRemote). */
  remote?: string;
  port?: number;
  dev?: string;
  alias: string;
  mtu?: number;
  /** As VethSpec's. */
  background?: boolean;
  /** As VethSpec's. */
  noLinkLocal?: boolean;
}

export interface RouteSpec {
  prefix: string;
  via?: string;
  dev: string;
  src?: string;
}

export interface BridgeOptions {
  alias?: string;
  mtu?: number;
}

const EXISTS_RE = /File exists/i;
const MISSING_RE = /Cannot find device|does not exist|No such device/i;

/** The only code that touches the kernel: typed operations over cached per-namespace ip channels. */
export class KernelDriver {
  private readonly pool: IpBatchPool;
  private readonly log: Logger | undefined;
  /** Last seen identity (DEV:INO) per namespace key, to notice a namespace recreated under its name. */
  private readonly ids = new Map<string, string>();
  /** In-process rtnetlink for the hot path; undefined: everything goes through ip. */
  private readonly rtnl: RtnlDriver | undefined;
  private readonly anchors: VxlanAnchors | undefined;
  /** Whether `noLinkLocal` is honoured (rtnetlink only). */
  private readonly linkLocalOnDemand: boolean;
  /** TX and RX queues of each veth end; undefined: the kernel's default. */
  private readonly vethQueues: number | undefined;

  constructor(opts: KernelDriverOptions = {}) {
    this.log = opts.logger;
    this.vethQueues = vethQueuesFrom(opts.vethQueues, process.env.NSM_VETH_QUEUES);
    const useRtnl = opts.rtnl ?? process.env.NSM_RTNL !== '0';
    this.rtnl = useRtnl
      ? RtnlDriver.tryCreate({
          ...(opts.logger ? { logger: opts.logger } : {}),
          ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
          ...(opts.idleMs !== undefined ? { idleMs: opts.idleMs } : {}),
          ...(this.vethQueues !== undefined ? { vethQueues: this.vethQueues } : {}),
        })
      : undefined;
    this.linkLocalOnDemand = this.rtnl !== undefined && (opts.linkLocalOnDemand ?? process.env.NSM_LINK_LOCAL !== 'kernel');
    this.anchors = this.rtnl && (opts.vxlanAnchor ?? process.env.NSM_VXLAN_ANCHOR !== '0') ? new VxlanAnchors(this.rtnl, opts.logger) : undefined;
    const poolOpts: ConstructorParameters<typeof IpBatchPool>[0] = {};
    if (opts.logger) poolOpts.logger = opts.logger;
    if (opts.timeoutMs !== undefined) poolOpts.timeoutMs = opts.timeoutMs;
    if (opts.idleMs !== undefined) poolOpts.idleMs = opts.idleMs;
    this.pool = new IpBatchPool(poolOpts);
  }

  /** Whether the hot path goes over rtnetlink (false: over ip). */
  get usesRtnl(): boolean {
    return this.rtnl !== undefined;
  }

  /** Create a veth pair with each end directly in its namespace, tagged with `alias` and up. */
  async createVeth(spec: VethSpec): Promise<void> {
    const name = checkIfName('name', spec.name);
    const peer = checkIfName('peerName', spec.peerName);
    const alias = checkAlias('alias', spec.alias);
    const mtu = spec.mtu === undefined ? undefined : checkMtu('mtu', spec.mtu);
    // Namespaces resolved before are known on this thread: then the pair goes to the kernel before this call returns.
    const known = [this.resolveNow(spec.netns), this.resolveNow(spec.peerNetns)] as const;
    const [a, b] = known[0] && known[1] ? [known[0], known[1]] : await Promise.all([this.resolve(spec.netns, 'netns'), this.resolve(spec.peerNetns, 'peerNetns')]);
    if (name === peer && sameNetns(a, b)) throw new InvalidArgumentError(`peerName: "${peer}" equals name in the same namespace`);
    const q = this.vethQueues === undefined ? '' : ` numtxqueues ${this.vethQueues} numrxqueues ${this.vethQueues}`;
    const m = (mtu === undefined ? '' : ` mtu ${mtu}`) + q;
    const add = `link add ${name}${m}${netnsArg(a)} type veth peer name ${peer}${m}${netnsArg(b)}`;
    const rt = this.rtnl;
    try {
      if (rt) await rt.createVeth(a, this.idOf(a), name, b, this.idOf(b), peer, mtu, spec.background);
      else await this.pool.get({ kind: 'host' }).run(add);
    } catch (err) {
      if (err instanceof IpCommandError && EXISTS_RE.test(err.stderr)) {
        const [ta, tb] = await Promise.all([this.linkExists(a, name), this.linkExists(b, peer)]);
        const which = ta ? `"${name}" in ${describeNetns(a)}` : tb ? `"${peer}" in ${describeNetns(b)}` : `"${name}"/"${peer}"`;
        throw new AlreadyExistsError(`interface ${which} already exists`, { cause: err });
      }
      throw this.mapError(err, a, name);
    }
    const up = { background: spec.background === true, noLinkLocal: this.noLinkLocal(spec) };
    try {
      await settleAll(
        rt
          ? [rt.aliasUp(a, this.idOf(a), name, alias, up), rt.aliasUp(b, this.idOf(b), peer, alias, up)]
          : [this.chan(a).run(`link set dev ${name} alias ${alias} up`), this.chan(b).run(`link set dev ${peer} alias ${alias} up`)],
      );
    } catch (err) {
      await this.rollback(a, name);
      throw this.mapError(err, a, name);
    }
    this.log?.debug({ name, peer, alias }, 'veth created');
  }

  /** Create a VXLAN interface in `netns` (its underlay lives there), tagged and up. */
  async createVxlan(spec: VxlanSpec): Promise<void> {
    const name = checkIfName('name', spec.name);
    const vni = checkVni('vni', spec.vni);
    const local = checkIp('local', spec.local);
    const remote = spec.remote === undefined ? undefined : checkIp('remote', spec.remote);
    if (remote && local.family !== remote.family) throw new InvalidArgumentError('remote: address family differs from local');
    const port = checkPort('port', spec.port ?? 4789);
    const dev = spec.dev === undefined ? undefined : checkIfName('dev', spec.dev);
    const alias = checkAlias('alias', spec.alias);
    const mtu = spec.mtu === undefined ? undefined : checkMtu('mtu', spec.mtu);
    const ns = await this.resolve(spec.netns, 'netns');
    const target = spec.targetNetns === undefined ? ns : await this.resolve(spec.targetNetns, 'targetNetns');
    const m = mtu === undefined ? '' : ` mtu ${mtu}`;
    const d = dev === undefined ? '' : ` dev ${dev}`;
    const into = sameNetns(ns, target) ? '' : netnsArg(target);
    const rt = this.rtnl;
    try {
      if (rt) {
        // The underlay's UDP socket stays open between connections (vxlan-anchor.ts); made once, never fails.
        if (this.anchors) await this.anchors.ensure(ns, this.idOf(ns), local.address, port);
        const v = { name, vni, local: local.address, ...(remote ? { remote: remote.address } : {}), port, ...(dev !== undefined ? { dev } : {}), ...(mtu !== undefined ? { mtu } : {}) };
        await rt.createVxlan(ns, this.idOf(ns), target, this.idOf(target), v, spec.background);
      } else await this.chan(ns).run(`link add ${name}${m}${into} type vxlan id ${vni} local ${local.address}${remote ? ` remote ${remote.address}` : ''} dstport ${port}${d}`);
    } catch (err) {
      if (err instanceof IpCommandError && EXISTS_RE.test(err.stderr)) {
        throw new AlreadyExistsError(`interface "${name}" in ${describeNetns(target)} (or VNI ${vni} on port ${port}) already exists`, { cause: err });
      }
      throw this.mapError(err, target, name);
    }
    try {
      if (rt) await rt.aliasUp(target, this.idOf(target), name, alias, { noLinkLocal: this.noLinkLocal(spec) });
      else await this.chan(target).run(`link set dev ${name} alias ${alias} up`);
    } catch (err) {
      await this.rollback(target, name);
      throw this.mapError(err, target, name);
    }
  }

  /**
   * Sets the peer (default destination) of a VXLAN interface in `netns`, e.g. one created without it
   * before the peer's address was known; its family must be that of the interface's local address.
   */
  async setVxlanRemote(netns: NetnsLike, name: string, remote: string): Promise<void> {
    checkIfName('name', name);
    const r = checkIp('remote', remote);
    if (this.rtnl) {
      // Over rtnetlink: no `ip` channel (a spawned process in a namespace whose channel has gone idle) for it.
      const ns = await this.resolve(netns, 'netns');
      try {
        await this.rtnl.setVxlanRemote(ns, this.idOf(ns), name, r.address);
      } catch (err) {
        throw this.mapError(err, ns, name);
      }
      return;
    }
    await this.exec(netns, name, `link set dev ${name} type vxlan remote ${r.address}`);
  }

  /** Create a bridge (for underlays), up, optionally tagged. */
  async createBridge(netns: NetnsLike, name: string, opts: BridgeOptions = {}): Promise<void> {
    checkIfName('name', name);
    const alias = opts.alias === undefined ? undefined : checkAlias('alias', opts.alias);
    const mtu = opts.mtu === undefined ? undefined : checkMtu('mtu', opts.mtu);
    const ns = await this.resolve(netns, 'netns');
    try {
      await this.chan(ns).run(`link add ${name}${mtu === undefined ? '' : ` mtu ${mtu}`} type bridge`);
    } catch (err) {
      throw this.mapError(err, ns, name);
    }
    try {
      await this.chan(ns).run(`link set dev ${name}${alias === undefined ? '' : ` alias ${alias}`} up`);
    } catch (err) {
      await this.rollback(ns, name);
      throw this.mapError(err, ns, name);
    }
  }

  /** Enslave an interface to a bridge in the same namespace. */
  async addToBridge(netns: NetnsLike, ifname: string, bridge: string): Promise<void> {
    checkIfName('ifname', ifname);
    checkIfName('bridge', bridge);
    await this.exec(netns, ifname, `link set dev ${ifname} master ${bridge} up`);
  }

  /**
   * Add an address (idempotent: `addr replace`). IPv6 goes without DAD, so it is usable at once; a
   * /128 without a prefix route (a route to itself in the main table, which an IPv4 /32 does not
   * get, and which in a passthrough would beat the route onward). It is
   * also published as a proxy NDP entry on the interface: harmless where the namespace does not
   * forward, and what lets a forwarding namespace (a passthrough, dataplane/forwarding.ts) take in NDP
   * replies addressed to it. The entry goes with the interface.
   */
  async addAddress(netns: NetnsLike, ifname: string, cidr: string): Promise<void> {
    checkIfName('ifname', ifname);
    const c = checkCidr('cidr', cidr);
    if (this.rtnl) {
      const ns = await this.resolve(netns, 'netns');
      try {
        await this.rtnl.addAddress(ns, this.idOf(ns), ifname, c.address, c.prefixLen, c.family === 6);
      } catch (err) {
        throw this.mapError(err, ns, ifname);
      }
      return;
    }
    const v6 = c.family === 6 ? ` nodad${c.prefixLen === 128 ? ' noprefixroute' : ''}` : '';
    const add = `addr replace ${c.address}/${c.prefixLen} dev ${ifname}${v6}`;
    await this.exec(netns, ifname, c.family === 6 ? [add, `neigh replace proxy ${c.address} dev ${ifname}`] : add);
  }

  /**
   * The IPv6 link-local address the kernel would have given a link made with `noLinkLocal` (EUI-64 of its
   * MAC, without DAD); nothing where the kernel made its own (over ip, or NSM_LINK_LOCAL=kernel).
   */
  async addLinkLocal(netns: NetnsLike, ifname: string): Promise<void> {
    checkIfName('ifname', ifname);
    if (!this.rtnl || !this.linkLocalOnDemand) return;
    const ns = await this.resolve(netns, 'netns');
    try {
      await this.rtnl.addLinkLocal(ns, this.idOf(ns), ifname);
    } catch (err) {
      throw this.mapError(err, ns, ifname);
    }
  }

  private noLinkLocal(spec: { noLinkLocal?: boolean }): boolean {
    return this.linkLocalOnDemand && spec.noLinkLocal === true;
  }

  /** Remove an address (and, for IPv6, its proxy NDP entry); a missing address or interface is not an error. */
  async deleteAddress(netns: NetnsLike, ifname: string, cidr: string): Promise<void> {
    checkIfName('ifname', ifname);
    const c = checkCidr('cidr', cidr);
    await this.execIgnoring(netns, `addr del ${c.address}/${c.prefixLen} dev ${ifname}`, /Cannot assign|does not exist|Cannot find/i);
    if (c.family === 6) await this.execIgnoring(netns, `neigh del proxy ${c.address} dev ${ifname}`, /No such|does not exist|Cannot find/i);
  }

  /** Add or replace a route (idempotent). */
  async addRoute(netns: NetnsLike, route: RouteSpec): Promise<void> {
    const args = routeArgs(route);
    if (this.rtnl) {
      const p = checkCidr('prefix', route.prefix);
      const ns = await this.resolve(netns, 'netns');
      const r = { address: p.address, prefixLen: p.prefixLen, dev: route.dev, ...(route.via !== undefined ? { via: route.via } : {}), ...(route.src !== undefined ? { src: route.src } : {}) };
      try {
        await this.rtnl.addRoute(ns, this.idOf(ns), r);
      } catch (err) {
        throw this.mapError(err, ns, route.dev);
      }
      return;
    }
    await this.exec(netns, route.dev, `route replace ${args}`);
  }

  /** Remove a route; a missing one is not an error. */
  async deleteRoute(netns: NetnsLike, route: RouteSpec): Promise<void> {
    await this.execIgnoring(netns, `route del ${routeArgs(route)}`, /No such process|Cannot find|does not exist/i);
  }

  async setMtu(netns: NetnsLike, name: string, mtu: number): Promise<void> {
    checkIfName('name', name);
    checkMtu('mtu', mtu);
    await this.exec(netns, name, `link set dev ${name} mtu ${mtu}`);
  }

  async setUp(netns: NetnsLike, name: string): Promise<void> {
    checkIfName('name', name);
    await this.exec(netns, name, `link set dev ${name} up`);
  }

  async setDown(netns: NetnsLike, name: string): Promise<void> {
    checkIfName('name', name);
    await this.exec(netns, name, `link set dev ${name} down`);
  }

  async setAlias(netns: NetnsLike, name: string, alias: string): Promise<void> {
    checkIfName('name', name);
    checkAlias('alias', alias);
    await this.exec(netns, name, `link set dev ${name} alias ${alias}`);
  }

  /** Delete a link (for veth, both ends go); returns false when it did not exist. */
  async deleteLink(netns: NetnsLike, name: string): Promise<boolean> {
    checkIfName('name', name);
    const ns = await this.resolve(netns, 'netns');
    if (this.rtnl) {
      try {
        return await this.rtnl.deleteLink(ns, this.idOf(ns), name);
      } catch (err) {
        throw this.mapError(err, ns, name);
      }
    }
    const [r] = await this.chan(ns).runAll([`link del dev ${name}`]);
    if (r!.ok) return true;
    if (MISSING_RE.test(r!.error ?? '')) return false;
    throw this.mapError(new IpCommandError(r!.line, r!.error ?? '', describeNetns(ns)), ns, name);
  }

  /** Whether a link with this name exists in the namespace. */
  async linkExists(netns: NetnsLike, name: string): Promise<boolean> {
    checkIfName('name', name);
    const ns = await this.resolve(netns, 'netns');
    const [r] = await this.chan(ns).runAll([`link show dev ${name}`]);
    return r!.ok;
  }

  /**
   * Raw iproute2 lines (rules, lwtunnel routes) over the namespace's channel, in order; a line
   * failing with an error not matching `ignore` fails the call after the rest ran. `family` 6: over
   * the namespace's `ip -6` channel (IPv6 rules, `route flush table T` of IPv6 routes).
   */
  async runLines(netns: NetnsLike, lines: string[], ignore?: RegExp, family?: 6): Promise<void> {
    const ns = await this.resolve(netns, 'netns');
    const results = await this.chan(ns, family).runAll(lines);
    const bad = results.find((r) => !r.ok && !(ignore && ignore.test(r.error ?? '')));
    if (bad) throw this.mapError(new IpCommandError(bad.line, bad.error ?? '', describeNetns(ns)), ns, bad.line.split(' ').find((w) => /^s6x|^nsm/.test(w)) ?? '?');
  }

  /** Set a net.* sysctl inside a namespace (spawns a process; rare). */
  async setSysctl(netns: NetnsLike, key: string, value: string | number): Promise<void> {
    const s = checkSysctl(key, value);
    await writeSysctlIn(await this.resolve(netns, 'netns'), s.path, s.value);
  }

  /** All links of a namespace (spawns one `ip -json`; rare). */
  async listLinks(netns: NetnsLike): Promise<LinkInfo[]> {
    return listLinksIn(await this.resolve(netns, 'netns'));
  }

  /** The link named `name` in the namespace, if any (spawns one `ip -json`; rare: adopting a link of an earlier life). */
  async linkInfo(netns: NetnsLike, name: string): Promise<LinkInfo | undefined> {
    checkIfName('name', name);
    return (await listLinksIn(await this.resolve(netns, 'netns'), name))[0];
  }

  /** Links whose alias starts with `aliasPrefix` (default "nsm:", i.e. everything the forwarder made). */
  async listTagged(netns: NetnsLike, aliasPrefix: string = ALIAS_PREFIX): Promise<LinkInfo[]> {
    return (await this.listLinks(netns)).filter((l) => l.alias !== undefined && l.alias.startsWith(aliasPrefix));
  }

  /** Close the channel of one namespace (do it before deleting the namespace: the channel pins it). */
  closeNetns(netns: NetnsLike): void {
    const p = parseNetns(netns);
    if (p.kind === 'inode') return;
    this.pool.closeFor(p);
    this.rtnl?.closeFor(p);
    closeCounterSocketFor(netnsPath(p));
  }

  /** Close the channel, then delete a named namespace. */
  async deleteNetns(name: string): Promise<void> {
    this.closeNetns(name);
    await deleteNamedNetns(name);
  }

  /** Stop all channel processes. */
  close(): void {
    this.pool.closeAll();
    this.anchors?.close();
    this.rtnl?.closeAll();
    closeCounterSockets();
  }

  /** resolve's answer when it takes no promise step (see resolveNetnsIdNow); undefined otherwise. */
  private resolveNow(netns: NetnsLike): NetnsRef | undefined {
    const r = resolveNetnsIdNow(netns);
    if (r) this.ids.set(netnsKey(r.ref), r.id);
    return r?.ref;
  }

  private async resolve(netns: NetnsLike, field: string): Promise<NetnsRef> {
    try {
      const r = await resolveNetnsId(netns);
      this.ids.set(netnsKey(r.ref), r.id);
      return r.ref;
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw new InvalidArgumentError(`${field}: ${err.message}`, { cause: err });
      throw err;
    }
  }

  private idOf(ns: NetnsRef): string | undefined {
    return this.ids.get(netnsKey(ns));
  }

  private chan(ns: NetnsRef, family?: 6): IpBatchChannel {
    return this.pool.get(ns, this.ids.get(netnsKey(ns)), family);
  }

  private async exec(netns: NetnsLike, ifname: string, line: string | string[]): Promise<void> {
    const ns = await this.resolve(netns, 'netns');
    try {
      await this.chan(ns).run(line);
    } catch (err) {
      throw this.mapError(err, ns, ifname);
    }
  }

  private async execIgnoring(netns: NetnsLike, line: string, ignore: RegExp): Promise<void> {
    const ns = await this.resolve(netns, 'netns');
    const [r] = await this.chan(ns).runAll([line]);
    if (!r!.ok && !ignore.test(r!.error ?? '')) throw new IpCommandError(line, r!.error ?? '', describeNetns(ns));
  }

  private async rollback(ns: NetnsRef, name: string): Promise<void> {
    if (this.rtnl) {
      await this.rtnl.deleteLink(ns, this.idOf(ns), name).catch((err: unknown) => this.log?.warn({ name, error: String(err) }, 'rollback failed'));
      return;
    }
    const [r] = await this.chan(ns).runAll([`link del dev ${name}`]).catch(() => [undefined]);
    if (r && !r.ok && !MISSING_RE.test(r.error ?? '')) this.log?.warn({ name, error: r.error }, 'rollback failed');
  }

  private mapError(err: unknown, ns: NetnsRef, name: string): Error {
    if (err instanceof IpCommandError) {
      if (EXISTS_RE.test(err.stderr)) return new AlreadyExistsError(`interface "${name}" already exists in ${describeNetns(ns)}: ${err.stderr}`, { cause: err });
      if (MISSING_RE.test(err.stderr)) return new FailedPreconditionError(`${err.stderr} (in ${describeNetns(ns)}, for "${name}")`, { cause: err });
      // Say what went wrong, not how we tried: the ip command line stays in our log.
      this.log?.warn({ command: err.command, netns: err.netns, stderr: err.stderr }, 'ip command failed');
      const answer = err.stderr.replace(/^RTNETLINK answers:\s*/i, '').trim() || 'failed';
      return new MeshError(Status.INTERNAL, `the kernel refused to set up interface "${name}" in ${describeNetns(ns)}: ${answer}`, { cause: err });
    }
    return err instanceof Error ? err : new Error(String(err), { cause: err });
  }
}

/** The veth queue count: the option, else NSM_VETH_QUEUES, else 1; undefined (`kernel`, 0): the kernel's default. */
export function vethQueuesFrom(opt: number | undefined, env: string | undefined): number | undefined {
  const v = opt ?? (env === undefined || env === '' ? 1 : env === 'kernel' ? 0 : Number(env));
  if (!Number.isInteger(v) || v < 0 || v > 4096) throw new InvalidArgumentError(`NSM_VETH_QUEUES: not a queue count: ${env ?? String(opt)}`);
  return v === 0 ? undefined : v;
}

function sameNetns(a: NetnsRef, b: NetnsRef): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The ` netns X` argument for creating a link directly in a namespace from the host channel. */
function netnsArg(ns: NetnsRef): string {
  return ns.kind === 'host' ? '' : ns.kind === 'named' ? ` netns ${ns.name}` : ` netns ${ns.path}`;
}

function routeArgs(route: RouteSpec): string {
  checkIfName('dev', route.dev);
  const p = checkCidr('prefix', route.prefix);
  let s = `${p.address}/${p.prefixLen}`;
  if (route.via !== undefined) {
    const v = checkIp('via', route.via);
    if (v.family !== p.family) throw new InvalidArgumentError('via: address family differs from prefix');
    s += ` via ${v.address}`;
  }
  s += ` dev ${route.dev}`;
  if (route.src !== undefined) {
    const src = checkIp('src', route.src);
    if (src.family !== p.family) throw new InvalidArgumentError('src: address family differs from prefix');
    s += ` src ${src.address}`;
  }
  return s;
}

/** Await all; throw the first rejection only after every promise settled. */
async function settleAll(ps: Promise<unknown>[]): Promise<void> {
  const rs = await Promise.allSettled(ps);
  const bad = rs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (bad) throw bad.reason;
}
