// Builds the CNI result of an ADD from the mesh connections (interfaces, addresses, routes), appended
// to a previous plugin's result when chained, in the shape of the configured cniVersion.
import type { Connection } from '../../api/index.js';

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}
export interface CniIp {
  address: string;
  gateway?: string;
  interface?: number;
  /** Only in results before 1.0.0. */
  version?: '4' | '6';
}
export interface CniRoute {
  dst: string;
  gw?: string;
}
export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIp[];
  routes: CniRoute[];
  dns: Record<string, unknown>;
}

export interface AttachedConnection {
  ifname: string;
  connection: Connection;
}

const familyOf = (cidr: string): '4' | '6' => (cidr.includes(':') ? '6' : '4');
const withPrefix = (ip: string) => (ip.includes('/') ? ip : `${ip}/${ip.includes(':') ? 128 : 32}`);

/** The part of the result our connections contribute, interface indexes starting at `firstIndex`. */
export function connectionsResult(
  conns: AttachedConnection[], sandbox: string, firstIndex: number, cniVersion: string, macs: Record<string, string> = {},
): Pick<CniResult, 'interfaces' | 'ips' | 'routes'> {
  const legacy = cniVersion !== '1.0.0';
  const interfaces: CniInterface[] = [];
  const ips: CniIp[] = [];
  const routes: CniRoute[] = [];
  conns.forEach(({ ifname, connection }, i) => {
    interfaces.push({ name: ifname, ...(macs[ifname] ? { mac: macs[ifname] } : {}), sandbox });
    const ipc = connection.context?.ipContext;
    for (const a of ipc?.srcIpAddrs ?? []) {
      const ip: CniIp = { address: withPrefix(a), interface: firstIndex + i };
      if (legacy) ip.version = familyOf(a);
      ips.push(ip);
    }
    const seen = new Set<string>();
    for (const r of ipc?.srcRoutes ?? []) {
      if (!r.prefix || seen.has(r.prefix)) continue;
      seen.add(r.prefix);
      routes.push({ dst: withPrefix(r.prefix), ...(r.nextHop ? { gw: r.nextHop.split('/')[0]! } : {}) });
    }
    // The far end is reachable through the interface (a device route the forwarder sets).
    for (const d of ipc?.dstIpAddrs ?? []) {
      const dst = withPrefix(d.split('/')[0]!);
      if (!seen.has(dst)) {
        seen.add(dst);
        routes.push({ dst });
      }
    }
  });
  return { interfaces, ips, routes };
}

/** The full result: a chained plugin appends to prevResult (its interfaces, addresses, routes and DNS are kept). */
export function buildResult(
  conns: AttachedConnection[], sandbox: string, cniVersion: string, prevResult?: Record<string, unknown>, macs: Record<string, string> = {},
): CniResult {
  const prev = {
    interfaces: Array.isArray(prevResult?.interfaces) ? (prevResult.interfaces as CniInterface[]) : [],
    ips: Array.isArray(prevResult?.ips) ? (prevResult.ips as CniIp[]) : [],
    routes: Array.isArray(prevResult?.routes) ? (prevResult.routes as CniRoute[]) : [],
    dns: typeof prevResult?.dns === 'object' && prevResult.dns !== null ? (prevResult.dns as Record<string, unknown>) : {},
  };
  const ours = connectionsResult(conns, sandbox, prev.interfaces.length, cniVersion, macs);
  return {
    cniVersion,
    interfaces: [...prev.interfaces, ...ours.interfaces],
    ips: [...prev.ips, ...ours.ips],
    routes: [...prev.routes, ...ours.routes],
    dns: prev.dns,
  };
}
