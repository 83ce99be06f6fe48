// The contract of one mechanism module (implemented under src/dataplane/mechanisms/<name>/,
// wired by components): how a mechanism is offered, chosen and programmed on each side.
// forwarder-mechanisms negotiates with these; program-dataplane programs through them.
import type { IPContext, Mechanism } from '../../api/index.js';
import type { ForwarderDataplane, ProgrammedLink } from './forwarder-dataplane.js';

/** A name for a connection's interface in the endpoint's namespace (<= 15 chars). */
export function endpointIfName(connId: string): string {
  return `nsm-${connId.replace(/-/g, '').slice(0, 8)}`;
}

/** What a forwarder knows about itself when it offers or accepts a mechanism. */
export interface MechanismEnv {
  /** This node's underlay address (IPv4 or IPv6). */
  underlayIp: string;
}

/** One workload-facing end of a connection: the interface in the workload's namespace and its IP context. */
export interface Side {
  netns: string;
  name: string;
  addrs: string[];
  routes: { prefix: string; nextHop: string }[];
  /** MEMIF: the workload's memif socket file (the workload is the memif server). */
  socketfile?: string;
}

/** What a module needs to program its part of one connection. */
export interface ProgramContext {
  dp: ForwarderDataplane;
  connId: string;
  /** The tag every link of this connection carries ("nsm:<id>"). */
  alias: string;
  /** The connection's network service (mechanisms may treat services differently, e.g. SRv6 waypoints). */
  service: string;
  /** The connection's MTU when the path asked for one. */
  mtu?: number;
  underlayIp: string;
  /**
   * Links made ahead of an answer (prepare, prepareCrossConnect) while this forwarder serves no other Request:
   * made on the event loop's own thread once the Request has left, not handed to a worker thread (see aheadOfAnswer).
   */
  idle?: boolean;
}

/**
 * How links made ahead of an answer are sent (resolves `background` for VethSpec/VxlanSpec). An idle forwarder
 * sends them from its own thread after the Request's write has gone out (setImmediate runs after it): the kernel
 * work (1-3 ms) then overlaps the next hop's, and nothing waits for a worker thread's result to come back (~1 ms
 * here). A busy one sends them from a worker thread, so the other Requests are not held up meanwhile.
 */
export async function aheadOfAnswer(p: ProgramContext): Promise<boolean> {
  if (!p.idle) return true;
  await new Promise<void>((resolve) => setImmediate(resolve));
  return false;
}

/** A local mechanism: how a workload on this node is attached (KERNEL: an interface in its namespace). */
export interface LocalMechanism {
  readonly cls: 'LOCAL';
  readonly type: string;
  /** What is wrong with a mechanism of this type a client offers (undefined: usable). */
  check(m: Mechanism): string | undefined;
  /** The incoming mechanism chosen from a usable offer. */
  accept(m: Mechanism): Mechanism;
  /** What to offer a local endpoint (`previous`: what this connection had, kept on refresh). */
  offer(connId: string, previous: Mechanism | undefined): Mechanism;
  /** The client's end (source addresses and routes). */
  clientSide(m: Mechanism, ip: IPContext | undefined): Side;
  /** The endpoint's end (destination addresses and routes). */
  endpointSide(m: Mechanism, ip: IPContext | undefined): Side;
  /** Client and endpoint on this node: joins their ends directly; resolves the links made. */
  crossConnect(p: ProgramContext, client: Side, endpoint: Side): Promise<ProgrammedLink[]>;
  /**
   * Optional: makes the cross-connect's links at `client` and a predicted `endpoint` (namespaces and names;
   * no addresses yet) while the Request travels on to a local endpoint (see tools/early-veth); undefined
   * when it cannot be done. The handle finishes it once the endpoint's answer and the IP context are known.
   */
  prepareCrossConnect?(p: ProgramContext, client: Side, endpoint: Side): Promise<PreparedCrossConnect> | undefined;
  /**
   * A local mechanism that is not a kernel interface (MEMIF): after the remote module has put its tunnel
   * interface at `side` (in the forwarder's namespace), joins it to the workload; resolves the links made.
   */
  joinRemote?(p: ProgramContext, workload: Side, tunnel: ProgrammedLink): Promise<ProgrammedLink[]>;
  /** Only a client's end (VHOSTUSER: the forwarder serves the socket a client's virtio NIC joins): never offered to endpoints. */
  readonly clientOnly?: true;
  /** Other local types whose endpoint end this module's crossConnect also joins (VHOSTUSER: MEMIF); offered to a local endpoint instead of its own. */
  readonly crossConnects?: readonly string[];
  /** Removes what a connection holds besides links (a DPDK process); called on Close and before re-programming. Idempotent. */
  release?(connId: string, dp: ForwarderDataplane): Promise<void>;
  /** After the forwarder's adopt grace: removes what an earlier life left that no connection asked for again. */
  sweep?(): Promise<number>;
}

/** A remote mechanism: how two forwarders carry a connection between nodes. */
export interface RemoteMechanism {
  readonly cls: 'REMOTE';
  /** Upstream's type, e.g. "VXLAN". */
  readonly type: string;
  /** The lower-case name used in lists (CLI, scenarios), e.g. "vxlan". */
  readonly name: string;
  /** Whether the mechanism encrypts what it carries between nodes (WIREGUARD, IPSEC): it qualifies for services that require encryption. */
  readonly encrypts?: true;
  /** What is wrong with an offer from a peer forwarder (undefined: usable). */
  check(m: Mechanism, env: MechanismEnv): string | undefined;
  /** Client side: the offer to the next forwarder (`previous`: this connection's, kept on refresh; `incoming`: a remote one passing through); undefined when it cannot be offered here (e.g. SRV6 without an IPv6 underlay). */
  offer(env: MechanismEnv, previous: Mechanism | undefined, incoming: Mechanism | undefined, connId: string): Mechanism | undefined;
  /** Endpoint side: a usable offer completed with this side's parameters. */
  accept(m: Mechanism, env: MechanismEnv, connId: string): Mechanism;
  /**
   * Programs this forwarder's half into the workload's namespace (role "client": the client's
   * node, "endpoint": the endpoint's), addresses and routes included; resolves the links made.
   */
  program(p: ProgramContext, side: Side, m: Mechanism, role: 'client' | 'endpoint'): Promise<ProgrammedLink[]>;
  /**
   * Client side, optional: makes this connection's tunnel interface at `side` (its namespace and name; no
   * addresses yet) from this forwarder's own `offer` alone, while the Request travels on to the peer
   * (see tools/early-tunnel); undefined when it cannot be done on this data plane. The handle finishes
   * it once the accepted mechanism and the IP context are known.
   */
  prepare?(p: ProgramContext, side: Side, offer: Mechanism): Promise<PreparedTunnel> | undefined;
  /**
   * Endpoint side, optional: makes this connection's tunnel interface, peer included, at a predicted `side` (the
   * local endpoint's namespace and interface name; no addresses yet) from the `incoming` mechanism this forwarder
   * accepted, while the Request travels on to the endpoint (see tools/early-veth); undefined when it cannot be
   * done. The handle's `fits` and `finish` take the endpoint's side as answered and the incoming mechanism.
   */
  prepareEndpoint?(p: ProgramContext, side: Side, incoming: Mechanism): Promise<PreparedTunnel> | undefined;
  /**
   * Removes what a connection holds besides its links (helper processes such as wireguard-go or charon,
   * their state and keys), if anything; called on Close and before a connection is programmed anew,
   * whichever mechanism it had. Idempotent.
   */
  release?(connId: string, dp: ForwarderDataplane): Promise<void>;
  /** Node-wide setup when the forwarder starts (e.g. SRv6: sysctls and the node's End SID), if any. */
  start?(dp: ForwarderDataplane, env: MechanismEnv): Promise<void>;
  /** After the forwarder's adopt grace: removes what an earlier life left that no connection asked for again; resolves how many. */
  sweep?(): Promise<number>;
}

/** A tunnel interface made ahead of the answer (RemoteMechanism.prepare: the peer's; prepareEndpoint: the local endpoint's). */
export interface PreparedTunnel {
  /** The links made (removed by the caller when the tunnel is not used). */
  readonly links: ProgrammedLink[];
  /**
   * Whether the remote mechanism (client side: the one the peer accepted; endpoint side: the incoming one), for
   * this side and context, is what was prepared (else it is dropped and programmed anew).
   */
  fits(p: ProgramContext, side: Side, accepted: Mechanism): boolean;
  /** Completes it (the peer's address on the client side; the addresses and routes of `side`); removes the links when that fails. */
  finish(p: ProgramContext, side: Side, accepted: Mechanism): Promise<ProgrammedLink[]>;
}

/** A cross-connect made ahead of a local endpoint's answer (LocalMechanism.prepareCrossConnect). */
export interface PreparedCrossConnect {
  /** The links made (removed by the caller when they are not used). */
  readonly links: ProgrammedLink[];
  /** Whether the answer's ends (and the context: alias, MTU) are what was prepared (else it is dropped and programmed anew). */
  fits(p: ProgramContext, client: Side, endpoint: Side): boolean;
  /** Completes it (both ends' addresses and routes); removes the links when that fails. */
  finish(p: ProgramContext, client: Side, endpoint: Side): Promise<ProgrammedLink[]>;
}

/** The mechanisms a forwarder supports; `remote` in its priority order (what it offers, first first). */
export interface MechanismRegistry {
  local: LocalMechanism[];
  remote: RemoteMechanism[];
}

export function findMechanism(reg: MechanismRegistry, m: Mechanism | undefined): LocalMechanism | RemoteMechanism | undefined {
  if (!m) return undefined;
  return reg.local.find((l) => l.type === m.type) ?? reg.remote.find((r) => r.type === m.type);
}

/** "LOCAL/KERNEL, REMOTE/VXLAN": what a registry supports, for error messages. */
export function describeSupported(reg: MechanismRegistry): string {
  return [...reg.local, ...reg.remote].map((m) => `${m.cls}/${m.type}`).join(', ');
}
