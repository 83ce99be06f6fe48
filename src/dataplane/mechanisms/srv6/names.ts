// SRv6 names and numbers derived from a connection id, so a restarted forwarder finds
// the same ones again: the node end of the connection's veth ("s6x" + 6 hex digits),
// its policy-routing table and rule preference, SIDs under the node's locator (End.DX4 ends
// in :4, its End.DX6 twin in :6), and the next hops End.DX4/End.DX6 hand decapsulated packets to.
import { createHash } from 'node:crypto';

export const SRV6_LINK_RE = /^s6x([0-9a-f]{6})$/;

const hashOf = (connId: string) => createHash('sha256').update(connId).digest();

/** The node (forwarder-namespace) end of the connection's veth. */
export function nodeEndName(connId: string): string {
  return `s6x${hashOf(connId).subarray(0, 3).toString('hex')}`;
}

/** Table and rule preference of a node end (from its name; rules before main's 32766). */
export function tableOf(linkName: string): { table: number; pref: number } | undefined {
  const m = SRV6_LINK_RE.exec(linkName);
  if (!m) return undefined;
  const h = parseInt(m[1]!, 16);
  return { table: 100_000 + h, pref: 1000 + (h % 30_000) };
}

/** The /64 locator of a node: 2001:db8:5:<last group of its IPv6 underlay address>::/64. */
export function locatorOf(underlayIp: string): string {
  const last = underlayIp.split(':').at(-1) || '0';
  return `2001:db8:5:${last}`;
}

/** The End.DX4 SID of a connection on a node (the last group 4 leaves room for End.DX6 at 6). */
export function sidOf(underlayIp: string, connId: string): string {
  const h = hashOf(connId);
  return `${locatorOf(underlayIp)}:${h.readUInt16BE(4).toString(16)}:${h.readUInt16BE(6).toString(16)}:0:4`;
}

/** The End.DX6 SID beside an End.DX4 SID (same connection and node; last group 6 instead of 4). */
export const dx6SidOf = (dx4Sid: string) => `${dx4Sid.slice(0, dx4Sid.lastIndexOf(':'))}:6`;

/** A node's End SID (the waypoint function of traffic engineering), from its IPv6 underlay address. */
export const endSidOf = (underlayIp: string) => `${locatorOf(underlayIp)}::e`;

/** The /64 locator a SID lies in (its first four groups). */
export const locatorOfSid = (sid: string) => `${sid.split(':').slice(0, 4).join(':')}::/64`;

/** The `i`-th candidate next hop in the forwarder's namespace for the node end (one per connection; End.DX4 routes to it). */
export function nextHop4(connId: string, i = 0): string {
  const n = (hashOf(connId).readUInt16BE(8) + i) % 65536;
  return `169.254.${n >> 8}.${n & 255}`;
}

/** The `i`-th candidate IPv6 next hop for the node end (End.DX6 routes to it), in 2001:db8:6::/64 (no locator lies there). */
export function nextHop6(connId: string, i = 0): string {
  const h = hashOf(connId);
  const n = (h.readUInt32BE(8) + i) >>> 0;
  return `2001:db8:6::${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
}

/** A locally administered MAC both veth ends share (ARP is off: each end sends to its own address). */
export function macOf(connId: string): string {
  const h = hashOf(connId);
  return `02:5e:${[...h.subarray(10, 14)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
}

/** What removes a node end's rules and table (run after deleting the link): IPv4 lines, and the IPv6 ones for an `ip -6` channel. */
export function cleanupLines(linkName: string): { v4: string[]; v6: string[] } {
  const t = tableOf(linkName);
  if (!t) return { v4: [], v6: [] };
  return {
    v4: [`rule del pref ${t.pref} iif ${linkName} table ${t.table}`, `route flush root 0.0.0.0/0 table ${t.table}`],
    v6: [`rule del pref ${t.pref} iif ${linkName} table ${t.table}`, `route flush table ${t.table}`],
  };
}
