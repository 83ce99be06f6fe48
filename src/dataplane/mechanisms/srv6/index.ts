// SRV6 (remote) over an IPv6 underlay, IPv4 and IPv6 payload: each forwarder joins its workload's
// interface by a veth to its own namespace (both ends one MAC, ARP/ND off); packets from the
// workload are encapsulated (seg6 encap, by a policy-routing table per connection, one rule per
// family) towards the peer's End.DX4 or End.DX6 SID, and packets for this side's SIDs are
// decapsulated (seg6local End.DX4/End.DX6) to the veth. The IPv6 part is made only for a side
// with IPv6 addresses or routes; its rule goes over an `ip -6` channel (a batch line cannot say
// -6, and a rule without an address is IPv4). Parameters are upstream's (src_host_ip, dst_host_ip,
// src_localsid, dst_localsid: the End.DX4 SIDs; each End.DX6 SID is its twin ending in :6).
// Everything but the rules and the table goes with the node end of the veth; those are removed
// with it (kernel-dataplane.ts).
import { isIP } from 'node:net';
import type { Mechanism } from '../../../api/index.js';
import type { MechanismEnv, ProgramContext, RemoteMechanism, Side } from '../../../sdk/tools/mechanism-module.js';
import type { ForwarderDataplane } from '../../../sdk/networkservice/program-dataplane.js';
import { configureOrRemove, createOrAdopt, removeLinks } from '../common/links.js';
import { dx6SidOf, endSidOf, locatorOfSid, macOf, nextHop4, nextHop6, nodeEndName, sidOf, tableOf } from './names.js';

export const SRV6 = 'SRV6';
export const S = { srcHostIp: 'src_host_ip', dstHostIp: 'dst_host_ip', srcLocalSid: 'src_localsid', dstLocalSid: 'dst_localsid' } as const;
/** Outer IPv6 header 40 + SRH with one segment 24. */
const OVERHEAD = 64;
const NOT_THERE = /No such file|No such process|Cannot find|does not exist/i;

const srv6Mechanism = (params: Record<string, string>): Mechanism => ({ cls: 'REMOTE', type: SRV6, parameters: params });

function problemOf(m: Mechanism, hostKey: string, sidKey: string): string | undefined {
  const host = m.parameters[hostKey];
  if (!host || isIP(host) !== 6) return `SRV6 parameter "${hostKey}" must be an IPv6 address, got ${JSON.stringify(host ?? '')}`;
  const sid = m.parameters[sidKey];
  if (!sid || isIP(sid) !== 6 || !/^[0-9a-f]{1,4}(:[0-9a-f]{1,4}){7}$/.test(sid) || !sid.endsWith(':4')) {
    return `SRV6 parameter "${sidKey}" must be an End.DX4 SID (8 groups ending in :4), got ${JSON.stringify(sid ?? '')}`;
  }
  return undefined;
}

/** Once per forwarder: SRv6, forwarding, the tunnel source and this node's End SID (for traffic steered through it). */
const prepared = new WeakMap<object, Promise<void>>();
function prepare(p: { dp: ForwarderDataplane; underlayIp: string }): Promise<void> {
  let done = prepared.get(p.dp);
  if (!done) {
    if (!p.dp.ipLines || !p.dp.setSysctl) return Promise.reject(new Error('this data plane cannot program SRV6'));
    const set = (k: string, v: string) => p.dp.setSysctl!('host', k, v);
    done = (async () => {
      for (const [k, v] of [
        ['net.ipv6.conf.all.seg6_enabled', '1'],
        ['net.ipv6.conf.default.seg6_enabled', '1'],
        ['net.ipv4.conf.all.forwarding', '1'],
        ['net.ipv6.conf.all.forwarding', '1'],
        ['net.ipv4.conf.all.rp_filter', '0'],
        ['net.ipv4.conf.default.rp_filter', '0'],
      ] as const) await set(k, v);
      // The End SID needs a real device (a route via lo becomes a reject route): the underlay's.
      const dev = (await p.dp.deviceOf?.(p.underlayIp)) ?? 'lo';
      await p.dp.ipLines!('host', [`sr tunsrc set ${p.underlayIp}`, `route replace ${endSidOf(p.underlayIp)}/128 encap seg6local action End dev ${dev}`]);
    })();
    done.catch(() => prepared.delete(p.dp));
    prepared.set(p.dp, done);
  }
  return done;
}

/**
 * The first candidate next hop that is free or already this node end's: a host route to the node end
 * (a candidate routed to another connection's node end answers "File exists" and the next is tried).
 */
async function claimNextHop(p: ProgramContext, node: string, candidate: (connId: string, i: number) => string): Promise<string> {
  const bits = candidate(p.connId, 0).includes(':') ? 128 : 32;
  for (let i = 0; i < 64; i++) {
    const nh = candidate(p.connId, i);
    await p.dp.ipLines!('host', [`route del ${nh}/${bits} dev ${node}`], NOT_THERE);
    try {
      await p.dp.ipLines!('host', [`route add ${nh}/${bits} dev ${node}`]);
      return nh;
    } catch (err) {
      if (!/exists/i.test(String(err))) throw err;
    }
  }
  throw new Error(`no free next hop for ${node}`);
}

/** Whether a side has IPv6 addresses or routes (then its IPv6 path is programmed). */
const carriesIpv6 = (side: Side) => side.addrs.some((a) => a.includes(':')) || side.routes.some((r) => r.prefix.includes(':'));

async function program(via: Map<string, string[]>, p: ProgramContext, side: Side, m: Mechanism, role: 'client' | 'endpoint') {
  await prepare(p);
  if (!p.dp.ipLines) throw new Error('this data plane cannot program SRV6');
  // Traffic engineering: through each waypoint's End SID (in reverse on the way back), then the peer's SID.
  const waypoints = via.get(p.service) ?? [];
  const ordered = role === 'client' ? waypoints : [...waypoints].reverse();
  const mine = m.parameters[role === 'client' ? S.srcLocalSid : S.dstLocalSid]!;
  const peerSid = m.parameters[role === 'client' ? S.dstLocalSid : S.srcLocalSid]!;
  const peerHost = m.parameters[role === 'client' ? S.dstHostIp : S.srcHostIp]!;
  const node = nodeEndName(p.connId);
  const { table, pref } = tableOf(node)!;
  const mac = macOf(p.connId);
  const link = { netns: 'host', name: node };
  const mtu = Math.min(p.mtu ?? 1500, 1500 - OVERHEAD - 16 * waypoints.length);
  const segs = [...ordered.map(endSidOf), peerSid].join(',');
  await createOrAdopt(p.dp, link, { alias: p.alias, kind: 'veth', peer: { netns: side.netns, name: side.name } }, () =>
    p.dp.createVeth({ name: node, netns: 'host', peerName: side.name, peerNetns: side.netns, alias: p.alias, mtu }),
  );
  try {
    await p.dp.ipLines(side.netns, [`link set dev ${side.name} address ${mac} arp off up`]);
    await p.dp.ipLines('host', [`rule del pref ${pref} iif ${node} table ${table}`], NOT_THERE);
    await p.dp.ipLines('host', [
      `link set dev ${node} address ${mac} arp off up`,
      `rule add pref ${pref} iif ${node} table ${table}`,
      // The peer node's locator: one route per peer node, shared by its connections (kept).
      `route replace ${locatorOfSid(peerSid)} via ${peerHost}`,
      ...waypoints.map((w) => `route replace ${locatorOfSid(endSidOf(w))} via ${w}`),
      `route replace default encap seg6 mode encap segs ${segs} dev ${node} table ${table}`,
    ]);
    const nh4 = await claimNextHop(p, node, nextHop4);
    await p.dp.ipLines('host', [
      `route replace ${mine}/128 encap seg6local action End.DX4 nh4 ${nh4} dev ${node}`,
    ]);
    if (carriesIpv6(side)) {
      const segs6 = [...ordered.map(endSidOf), dx6SidOf(peerSid)].join(',');
      await p.dp.ipLines('host', [`rule del pref ${pref} iif ${node} table ${table}`, `rule add pref ${pref} iif ${node} table ${table}`], NOT_THERE, 6);
      const nh6 = await claimNextHop(p, node, nextHop6);
      // The encapsulated packet is routed again as if it came in on the node end, so the IPv6 rule
      // sends it to this table too: the locators it heads for fall through to the main table.
      const locators = [locatorOfSid(peerSid), ...waypoints.map((w) => locatorOfSid(endSidOf(w)))];
      await p.dp.ipLines('host', [
        ...locators.map((l) => `route replace throw ${l} table ${table}`),
        `route replace ::/0 encap seg6 mode encap segs ${segs6} dev ${node} table ${table}`,
        `route replace ${dx6SidOf(mine)}/128 encap seg6local action End.DX6 nh6 ${nh6} dev ${node}`,
      ]);
    }
  } catch (err) {
    await removeLinks(p.dp, [link]);
    throw err;
  }
  return configureOrRemove(p.dp, [link], [side]);
}

export interface Srv6Options {
  /** Traffic engineering: per network service, the IPv6 underlay addresses of the waypoint nodes its packets pass, in order. */
  via?: Record<string, string[]>;
}

/** The SRV6 module, with its waypoints per service. */
export function makeSrv6(opts: Srv6Options = {}): RemoteMechanism {
  const via = new Map(Object.entries(opts.via ?? {}));
  return {
    ...srv6,
    program: (p, side, m, role) => program(via, p, side, m, role),
  };
}

export const srv6: RemoteMechanism = {
  cls: 'REMOTE',
  type: SRV6,
  name: 'srv6',
  async start(dp, env) {
    if (isIP(env.underlayIp) === 6) await prepare({ dp, underlayIp: env.underlayIp });
  },
  check(m: Mechanism, env: MechanismEnv) {
    if (isIP(env.underlayIp) !== 6) return `SRV6 needs an IPv6 underlay, but this forwarder's is ${env.underlayIp}`;
    return problemOf(m, S.srcHostIp, S.srcLocalSid);
  },
  offer(env, previous, _incoming, connId) {
    if (isIP(env.underlayIp) !== 6) return undefined;
    return srv6Mechanism({ [S.srcHostIp]: env.underlayIp, [S.srcLocalSid]: previous?.parameters[S.srcLocalSid] ?? sidOf(env.underlayIp, connId) });
  },
  accept: (m, env, connId) =>
    srv6Mechanism({ ...m.parameters, [S.dstHostIp]: env.underlayIp, [S.dstLocalSid]: sidOf(env.underlayIp, connId) }),
  program: (p, side, m, role) => program(new Map(), p, side, m, role),
};
