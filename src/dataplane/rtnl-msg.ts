// rtnetlink message bodies built by hand (the npm `netlink` binding sends and receives, but has no
// builders for link kinds): veth with its peer placed in a namespace, VXLAN, link alias/up/delete by
// name, addresses, routes and proxy neighbours. Pure functions over Buffers, so unit tests check the bytes.
import { isIPv4 } from 'node:net';

/** Message types (linux/rtnetlink.h). */
export const RTM = { NEWLINK: 16, DELLINK: 17, GETLINK: 18, SETLINK: 19, NEWADDR: 20, NEWROUTE: 24, NEWNEIGH: 28 } as const;
/** Request flags beyond REQUEST|ACK, which the socket adds (linux/netlink.h). */
export const NLM_F = { REPLACE: 0x100, EXCL: 0x200, CREATE: 0x400 } as const;
export const NLMSG_ERROR = 2;

const AF_INET = 2;
const AF_INET6 = 10;
const IFF_UP = 1;
const NLA_F_NESTED = 0x8000;

const IFLA = { ADDRESS: 1, IFNAME: 3, MTU: 4, LINK: 5, LINKINFO: 18, IFALIAS: 20, AF_SPEC: 26, NET_NS_FD: 28, EXT_MASK: 29, NUM_TX_QUEUES: 31, NUM_RX_QUEUES: 32 } as const;
const IFLA_INET6_ADDR_GEN_MODE = 8;
const IN6_ADDR_GEN_MODE_NONE = 1;
const IFLA_INFO = { KIND: 1, DATA: 2 } as const;
const VETH_INFO_PEER = 1;
const IFLA_VXLAN = { ID: 1, GROUP: 2, LINK: 3, LOCAL: 4, PORT: 15, GROUP6: 16, LOCAL6: 17 } as const;
const RTEXT_FILTER_SKIP_STATS = 1 << 3;
const IFA = { ADDRESS: 1, LOCAL: 2, FLAGS: 8 } as const;
const IFA_F_NODAD = 0x02;
const IFA_F_NOPREFIXROUTE = 0x200;
const RTA = { DST: 1, OIF: 4, GATEWAY: 5, PREFSRC: 7 } as const;
const RT_TABLE_MAIN = 254;
const RTPROT_BOOT = 3;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RTN_UNICAST = 1;
const NDA_DST = 1;
const NUD_PERMANENT = 0x80;
const NTF_PROXY = 0x08;

/** One attribute (type, payload), padded to 4 bytes. */
export function attr(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

const nested = (type: number, parts: Buffer[]) => attr(type | NLA_F_NESTED, Buffer.concat(parts));
const str = (type: number, s: string) => attr(type, Buffer.from(s + '\0', 'utf8'));
function u32(type: number, v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return attr(type, b);
}
function be16(type: number, v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v, 0);
  return attr(type, b);
}

/** An IPv4 or IPv6 address (already validated) in network byte order. */
export function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  const groups = (x: string): number[] => {
    if (!x) return [];
    const parts = x.split(':');
    const last = parts[parts.length - 1]!;
    if (!last.includes('.')) return parts.map((p) => parseInt(p, 16));
    const v4 = ipBytes(last);
    return [...parts.slice(0, -1).map((p) => parseInt(p, 16)), (v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
  };
  const gap = ip.indexOf('::');
  const h = groups(gap < 0 ? ip : ip.slice(0, gap));
  const t = gap < 0 ? [] : groups(ip.slice(gap + 2));
  const all = gap < 0 ? h : [...h, ...new Array<number>(Math.max(0, 8 - h.length - t.length)).fill(0), ...t];
  if (all.length !== 8 || all.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) throw new Error(`not an IP address: ${ip}`);
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** struct ifinfomsg: family 0, the index (0: by name), and IFF_UP set (or left alone) in flags/change. */
export function ifinfomsg(index = 0, up = false): Buffer {
  const b = Buffer.alloc(16);
  b.writeInt32LE(index, 4);
  if (up) {
    b.writeUInt32LE(IFF_UP, 8);
    b.writeUInt32LE(IFF_UP, 12);
  }
  return b;
}

/**
 * One end of a link to create: its name, the namespace (an open nsfs fd; none: the socket's own), MTU, and
 * how many TX and RX queues the device gets (none: the kind's default; a veth's is one per possible CPU).
 */
export interface LinkEnd {
  name: string;
  nsFd?: number;
  mtu?: number;
  queues?: number;
}

function endAttrs(end: LinkEnd): Buffer[] {
  const out = [str(IFLA.IFNAME, end.name)];
  if (end.mtu !== undefined) out.push(u32(IFLA.MTU, end.mtu));
  if (end.queues !== undefined) out.push(u32(IFLA.NUM_TX_QUEUES, end.queues), u32(IFLA.NUM_RX_QUEUES, end.queues));
  if (end.nsFd !== undefined) out.push(u32(IFLA.NET_NS_FD, end.nsFd));
  return out;
}

/**
 * RTM_NEWLINK body (send with CREATE|EXCL): a veth pair, each end created directly in its namespace, down
 * (the kernel cannot open the peer before the pair is complete: ENOTCONN; aliasUp brings each end up).
 * `queues: 1` on both ends spares the kernel the extra queues' sysfs objects and, above all, the RCU grace
 * period it waits for (synchronize_net) when it cuts a veth made with more queues down to one in use.
 */
export function vethNewLink(main: LinkEnd, peer: LinkEnd): Buffer {
  const peerInfo = attr(VETH_INFO_PEER, Buffer.concat([ifinfomsg(), ...endAttrs(peer)]));
  const info = nested(IFLA.LINKINFO, [str(IFLA_INFO.KIND, 'veth'), nested(IFLA_INFO.DATA, [peerInfo])]);
  return Buffer.concat([ifinfomsg(), ...endAttrs(main), info]);
}

export interface VxlanLink extends LinkEnd {
  vni: number;
  local: string;
  /** The peer's underlay address; none yet: set later (RTM_NEWLINK on the existing link, or `ip link set ... type vxlan remote`). */
  remote?: string;
  port: number;
  /** Index of the underlay device in the socket's namespace. */
  linkIndex?: number;
}

/** RTM_NEWLINK body (send with CREATE|EXCL): a VXLAN interface, down (see aliasUp); its underlay is the sending socket's namespace. */
export function vxlanNewLink(v: VxlanLink): Buffer {
  const v6 = !isIPv4(v.local);
  const data = [
    u32(IFLA_VXLAN.ID, v.vni),
    attr(v6 ? IFLA_VXLAN.LOCAL6 : IFLA_VXLAN.LOCAL, ipBytes(v.local)),
    ...(v.remote === undefined ? [] : [attr(v6 ? IFLA_VXLAN.GROUP6 : IFLA_VXLAN.GROUP, ipBytes(v.remote))]),
    be16(IFLA_VXLAN.PORT, v.port),
  ];
  if (v.linkIndex !== undefined) data.push(u32(IFLA_VXLAN.LINK, v.linkIndex));
  const info = nested(IFLA.LINKINFO, [str(IFLA_INFO.KIND, 'vxlan'), nested(IFLA_INFO.DATA, data)]);
  return Buffer.concat([ifinfomsg(), ...endAttrs(v), info]);
}

/** RTM_NEWLINK body (no CREATE: changes an existing link) that sets a VXLAN link's peer (default destination), by name. */
export function vxlanSetRemote(name: string, remote: string): Buffer {
  const group = attr(isIPv4(remote) ? IFLA_VXLAN.GROUP : IFLA_VXLAN.GROUP6, ipBytes(remote));
  return Buffer.concat([ifinfomsg(), str(IFLA.IFNAME, name), nested(IFLA.LINKINFO, [str(IFLA_INFO.KIND, 'vxlan'), nested(IFLA_INFO.DATA, [group])])]);
}

/** RTM_NEWLINK body (no CREATE: changes an existing link) that sets a link's alias and brings it up, by name. */
export function aliasUp(name: string, alias: string): Buffer {
  return Buffer.concat([ifinfomsg(0, true), str(IFLA.IFNAME, name), str(IFLA.IFALIAS, alias)]);
}

/**
 * RTM_NEWLINK body (no CREATE) that stops the kernel from giving a link an IPv6 link-local address of its own
 * (`ip link set dev NAME addrgenmode none`), by name. Sent before the link goes up: the kernel reads the mode
 * when the link comes up, and in one message with the up flag it would be too late (the flags go first).
 */
export function noLinkLocal(name: string): Buffer {
  const mode = attr(IFLA_INET6_ADDR_GEN_MODE, Buffer.from([IN6_ADDR_GEN_MODE_NONE]));
  return Buffer.concat([ifinfomsg(), str(IFLA.IFNAME, name), nested(IFLA.AF_SPEC, [nested(AF_INET6, [mode])])]);
}

/** The link-layer address (IFLA_ADDRESS) in an RTM_NEWLINK reply body, or undefined without one. */
export function linkAddressOf(body: Buffer): Buffer | undefined {
  for (let off = 16; off + 4 <= body.length; ) {
    const len = body.readUInt16LE(off);
    if (len < 4 || off + len > body.length) return undefined;
    if ((body.readUInt16LE(off + 2) & 0x3fff) === IFLA.ADDRESS) return Buffer.from(body.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  return undefined;
}

/** The IPv6 link-local address the kernel makes from a 6-byte MAC (EUI-64, `addrgenmode eui64`): fe80::/64. */
export function eui64LinkLocal(mac: Buffer): string {
  if (mac.length !== 6) throw new Error(`not a 6-byte link-layer address: ${mac.toString('hex')}`);
  const id = [mac[0]! ^ 0x02, mac[1]!, mac[2]!, 0xff, 0xfe, mac[3]!, mac[4]!, mac[5]!];
  const groups = [0, 2, 4, 6].map((i) => ((id[i]! << 8) | id[i + 1]!).toString(16));
  return `fe80::${groups.join(':')}`;
}

/** RTM_DELLINK body: delete a link by name. */
export function delLink(name: string): Buffer {
  return Buffer.concat([ifinfomsg(), str(IFLA.IFNAME, name)]);
}

/** RTM_GETLINK body: one link by name, without statistics (the reply's ifinfomsg carries its index). */
export function getLink(name: string): Buffer {
  return Buffer.concat([ifinfomsg(), str(IFLA.IFNAME, name), u32(IFLA.EXT_MASK, RTEXT_FILTER_SKIP_STATS)]);
}

/** RTM_GETLINK body: one link by name, with its statistics (IFLA_STATS64 in the reply). */
export function getLinkStats(name: string): Buffer {
  return Buffer.concat([ifinfomsg(), str(IFLA.IFNAME, name)]);
}

const IFLA_STATS64 = 23;

/** Counters of an RTM_NEWLINK reply body (IFLA_STATS64; drops counted as /proc/net/dev does), or undefined without them. */
export function linkStats64Of(body: Buffer): { rxBytes: number; rxPackets: number; rxDrops: number; txBytes: number; txPackets: number; txDrops: number } | undefined {
  for (let off = 16; off + 4 <= body.length; ) {
    const len = body.readUInt16LE(off);
    if (len < 4 || off + len > body.length) return undefined;
    if ((body.readUInt16LE(off + 2) & 0x3fff) === IFLA_STATS64 && len >= 4 + 16 * 8) {
      // struct rtnl_link_stats64: rx_packets, tx_packets, rx_bytes, tx_bytes, rx_errors, tx_errors, rx_dropped, tx_dropped, ..., rx_missed_errors (16th).
      const u = (i: number) => Number(body.readBigUInt64LE(off + 4 + 8 * i));
      return { rxPackets: u(0), txPackets: u(1), rxBytes: u(2), txBytes: u(3), rxDrops: u(6) + u(15), txDrops: u(7) };
    }
    off += (len + 3) & ~3;
  }
  return undefined;
}

/** The interface index in an RTM_NEWLINK reply body. */
export function linkIndexOf(body: Buffer): number {
  if (body.length < 16) throw new Error('short link message');
  return body.readInt32LE(4);
}

/**
 * RTM_NEWADDR body (send with CREATE|REPLACE, like `ip addr replace`). IPv6 goes without DAD; a
 * /128 also without a prefix route.
 */
export function newAddr(index: number, address: string, prefixLen: number): Buffer {
  const v6 = !isIPv4(address);
  const flags = v6 ? IFA_F_NODAD | (prefixLen === 128 ? IFA_F_NOPREFIXROUTE : 0) : 0;
  const head = Buffer.alloc(8);
  head.writeUInt8(v6 ? AF_INET6 : AF_INET, 0);
  head.writeUInt8(prefixLen, 1);
  head.writeUInt8(flags & 0xff, 2);
  head.writeUInt32LE(index, 4);
  const a = ipBytes(address);
  const parts: Buffer[] = [head, attr(IFA.LOCAL, a), attr(IFA.ADDRESS, a)];
  if (flags > 0xff) parts.push(u32(IFA.FLAGS, flags));
  return Buffer.concat(parts);
}

/** RTM_NEWROUTE body (send with CREATE|REPLACE, like `ip route replace`) in the main table. */
export function newRoute(index: number, prefix: string, prefixLen: number, via?: string, src?: string): Buffer {
  const v6 = !isIPv4(prefix);
  const head = Buffer.alloc(12);
  head.writeUInt8(v6 ? AF_INET6 : AF_INET, 0);
  head.writeUInt8(prefixLen, 1);
  head.writeUInt8(RT_TABLE_MAIN, 4);
  head.writeUInt8(RTPROT_BOOT, 5);
  head.writeUInt8(via === undefined ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE, 6);
  head.writeUInt8(RTN_UNICAST, 7);
  const parts: Buffer[] = [head];
  if (prefixLen > 0) parts.push(attr(RTA.DST, ipBytes(prefix)));
  if (via !== undefined) parts.push(attr(RTA.GATEWAY, ipBytes(via)));
  parts.push(u32(RTA.OIF, index));
  if (src !== undefined) parts.push(attr(RTA.PREFSRC, ipBytes(src)));
  return Buffer.concat(parts);
}

/** RTM_NEWNEIGH body (send with CREATE|REPLACE): a permanent proxy NDP/ARP entry for `address` on the link. */
export function proxyNeigh(index: number, address: string): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt8(isIPv4(address) ? AF_INET : AF_INET6, 0);
  head.writeInt32LE(index, 4);
  head.writeUInt16LE(NUD_PERMANENT, 8);
  head.writeUInt8(NTF_PROXY, 10);
  return Buffer.concat([head, attr(NDA_DST, ipBytes(address))]);
}

/** The errno of an NLMSG_ERROR body (0: an acknowledgement). */
export function errnoOf(body: Buffer): number {
  if (body.length < 4) throw new Error('short error message');
  return -body.readInt32LE(0) || 0;
}

const NLM_F_CAPPED = 0x100;
const NLM_F_ACK_TLVS = 0x200;
const NLMSGERR_ATTR_MSG = 1;

/** The kernel's message in an NLMSG_ERROR body with extended-ACK attributes (`flags`: the error message's own). */
export function extackOf(body: Buffer, flags: number): string | undefined {
  if (!(flags & NLM_F_ACK_TLVS) || body.length < 20) return undefined;
  // errno, then the request's header (and, unless capped, its payload), then attributes
  let off = 4 + (flags & NLM_F_CAPPED ? 16 : body.readUInt32LE(4));
  off = (off + 3) & ~3;
  while (off + 4 <= body.length) {
    const len = body.readUInt16LE(off);
    const type = body.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4 || off + len > body.length) return undefined;
    if (type === NLMSGERR_ATTR_MSG) return body.subarray(off + 4, off + len).toString('utf8').replace(/\0+$/, '');
    off += (len + 3) & ~3;
  }
  return undefined;
}

/** iproute2's wording of the errors a link operation meets (the driver's error mapping matches on it). */
const TEXT: Record<string, string> = {
  EEXIST: 'File exists',
  ENODEV: 'No such device',
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  EINVAL: 'Invalid argument',
  EPERM: 'Operation not permitted',
  EOPNOTSUPP: 'Operation not supported',
  ENETUNREACH: 'Network is unreachable',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ERANGE: 'Numerical result out of range',
  ENOBUFS: 'No buffer space available',
  EBUSY: 'Device or resource busy',
};

/** "RTNETLINK answers: File exists" for EEXIST, as iproute2 prints it, with the kernel's explanation if any. */
export function errnoText(errno: number, name: string, detail?: string): string {
  return `RTNETLINK answers: ${TEXT[name] ?? `${name} (errno ${errno})`}${detail ? ` (${detail})` : ''}`;
}
