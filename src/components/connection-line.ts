// The one-line JSON summary of a connection that `nsm nsc` and passthrough
// endpoints print on stdout (and `nsm status` reads back): the client side's view.
import type { Connection } from '../api/index.js';
import { REMOTE_MECHANISM_METRIC } from '../sdk/networkservice/forwarder-mechanisms.js';
import { P } from '../sdk/tools/mechanisms.js';

export type LineState = 'UP' | 'HEALING' | 'CLOSED';

export interface ConnectionLine {
  id: string;
  service: string;
  endpoint: string;
  interface: string;
  mechanism: string;
  /** The mechanism between nodes ("VXLAN", "SRV6", ...), as the forwarders on the path report it; absent when local. */
  remoteMechanism?: string;
  /** The first of srcIps / dstIps. */
  srcIp?: string;
  dstIp?: string;
  /** Every address of each end, both families (absent when there are none). */
  srcIps?: string[];
  dstIps?: string[];
  path: string[];
  /** The client's DNS name (`<client>.<service>`) and its DNS servers, when the endpoint gave a DNS context (vL3). */
  dnsName?: string;
  dnsServers?: string[];
  /** Absent on the first line; HEALING and CLOSED lines carry only id and interface. */
  state?: LineState;
}

export function connectionLine(c: Connection, ifname?: string, state?: 'UP'): ConnectionLine {
  const ip = c.context?.ipContext;
  return {
    id: c.id,
    service: c.networkService,
    endpoint: c.networkServiceEndpointName,
    interface: ifname ?? c.mechanism?.parameters[P.name] ?? '',
    mechanism: c.mechanism?.type ?? '',
    ...remoteOf(c),
    ...(ip?.srcIpAddrs[0] ? { srcIp: ip.srcIpAddrs[0] } : {}),
    ...(ip?.dstIpAddrs[0] ? { dstIp: ip.dstIpAddrs[0] } : {}),
    ...(ip?.srcIpAddrs.length ? { srcIps: [...ip.srcIpAddrs] } : {}),
    ...(ip?.dstIpAddrs.length ? { dstIps: [...ip.dstIpAddrs] } : {}),
    path: c.path?.pathSegments.map((s) => s.name) ?? [],
    ...dnsOf(c),
    ...(state ? { state } : {}),
  };
}

function remoteOf(c: Connection): { remoteMechanism?: string } {
  const m = c.path?.pathSegments.map((s) => s.metrics[REMOTE_MECHANISM_METRIC]).find((v) => !!v);
  return m ? { remoteMechanism: m } : {};
}

/** A short line for a state change without a new connection. */
export function stateLine(id: string, ifname: string, state: 'HEALING' | 'CLOSED'): Pick<ConnectionLine, 'id' | 'interface' | 'state'> {
  return { id, interface: ifname, state };
}

/** The client's DNS name (first path segment's name in the first search domain) and servers, from the DNS context. */
function dnsOf(c: Connection): { dnsName?: string; dnsServers?: string[] } {
  const cfg = c.context?.dnsContext?.configs[0];
  const client = c.path?.pathSegments[0]?.name.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (!cfg || cfg.dnsServerIps.length === 0) return {};
  return { ...(client && cfg.searchDomains[0] ? { dnsName: `${client}.${cfg.searchDomains[0]}` } : {}), dnsServers: [...cfg.dnsServerIps] };
}
