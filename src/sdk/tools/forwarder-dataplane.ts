// The kernel operations a forwarder's data plane offers (implemented by src/dataplane's
// KernelDriver behind a link ledger; the sandbox tier's fake kernel): the contract that
// program-dataplane and the mechanism modules program through.

/** The kernel operations the forwarder needs (implemented by dataplane's KernelDriver). */
export interface ForwarderDataplane {
  /** `background`: made ahead of an answer (early veth/tunnel): the kernel work may leave the event loop free meanwhile. */
  createVeth(spec: { name: string; netns: string; peerName: string; peerNetns: string; alias: string; mtu?: number; background?: boolean; noLinkLocal?: boolean }): Promise<void>;
  /** `remote` absent: no default destination yet (see setVxlanRemote). */
  createVxlan(spec: { name: string; netns?: string; targetNetns: string; vni: number; local: string; remote?: string; alias: string; mtu?: number; background?: boolean; noLinkLocal?: boolean }): Promise<void>;
  /**
   * Gives a link made with `noLinkLocal` the IPv6 link-local address the kernel would have made (configure()
   * calls it for a side with IPv6). A dataplane without it ignores `noLinkLocal`: the kernel makes its own.
   * `noLinkLocal` spares the kernel that address's routes, DAD and multicast reports on IPv4-only links.
   */
  addLinkLocal?(netns: string, name: string): Promise<void>;
  /** Sets the peer of a VXLAN interface made without one (lets a forwarder create it before the peer has answered). */
  setVxlanRemote?(netns: string, name: string, remote: string): Promise<void>;
  addAddress(netns: string, ifname: string, cidr: string): Promise<void>;
  addRoute(netns: string, route: { prefix: string; via?: string; dev: string }): Promise<void>;
  deleteLink(netns: string, name: string): Promise<boolean>;
  /** Links recorded with this alias (by an earlier life of the forwarder, say), if the dataplane keeps a record. */
  linksTagged?(alias: string): ProgrammedLink[];
  /** What exists under this name (undefined: nothing); lets a restarted forwarder adopt its links in place. */
  linkInfo?(netns: string, name: string): Promise<ExistingLink | undefined>;
  /**
   * After a restart: the links of one connection (`ends[0]` the one recorded when it was made, e.g. a veth's
   * end in the client's namespace; the rest its other ends) as the kernel has them, when an earlier life of
   * this forwarder made `ends[0]` for `alias`, no connection of this life has claimed it yet, and every end
   * still carries `alias`; read from one dump per namespace a few seconds old at most, with addresses and
   * routes. Undefined otherwise (the caller creates as usual). An answer claims the links: the sweep of
   * unclaimed links leaves them alone.
   */
  earlierLinks?(alias: string, ends: ProgrammedLink[]): Promise<EarlierLink[] | undefined>;
  /**
   * Raw iproute2 lines in a namespace ("host": the forwarder's own), for mechanisms that need rules and lwtunnel routes; errors matching `ignore` are not errors.
   * `family` 6 runs them as `ip -6` (batch lines take no options; a rule is IPv4 unless the whole channel is `-6`).
   */
  ipLines?(netns: string, lines: string[], ignore?: RegExp, family?: 6): Promise<void>;
  /** The interface holding `ip` in the forwarder's own namespace (e.g. the underlay's), if any. */
  deviceOf?(ip: string): Promise<string | undefined>;
  /** Sets a net.* sysctl in a namespace. */
  setSysctl?(netns: string, key: string, value: string): Promise<void>;
}

/** A link found in the kernel (see KernelDriver.linkInfo). */
export interface ExistingLink {
  alias?: string;
  kind?: string;
  /** VXLAN only. */
  vni?: number;
  remote?: string;
}

/** A link of an earlier life with what is configured on it (see ForwarderDataplane.earlierLink). */
export interface EarlierLink extends ExistingLink {
  up: boolean;
  /** Its addresses, "ADDR/LEN" (no IPv6 link-local ones). */
  addrs: string[];
  /** Main-table routes through it ("ADDR/LEN", next hop if any). */
  routes: { prefix: string; via?: string }[];
  /** IPv6 addresses published on it as proxy NDP entries. */
  proxies: string[];
}

export interface ProgrammedLink {
  netns: string;
  name: string;
}
