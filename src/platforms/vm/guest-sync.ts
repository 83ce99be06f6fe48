// What an endpoint VM's guest must hold for the connections in its namespace, and the commands that
// take it there from what it holds: every connection's dst addresses and routes (each route with the
// connection's own address as source and its MTU), eth0's MTU the largest, and one priming ping per new
// host route so the far side's neighbour entry learns the guest's MAC. Pure: no I/O.
import type { GuestRoute } from './guest-config.js';
import type { GuestOp } from './guest-control.js';

/** One connection's configuration, as the forwarder put it on its interface. */
export interface LinkConfig {
  connId: string;
  addrs: string[];
  routes: GuestRoute[];
  mtu: number;
}

export interface GuestRouteState {
  via?: string;
  src?: string;
  mtu?: number;
}

export interface GuestState {
  addrs: string[];
  routes: Record<string, GuestRouteState>;
  mtu?: number;
}

export const emptyGuest = (): GuestState => ({ addrs: [], routes: {} });

const family = (a: string) => (a.includes(':') ? 6 : 4);
const host = (cidr: string) => cidr.split('/')[0]!;

/** The guest state for these connections (a connection without addresses yet contributes nothing). */
export function desiredGuest(links: LinkConfig[]): GuestState {
  const want = emptyGuest();
  for (const l of links) {
    if (l.addrs.length === 0) continue;
    for (const a of l.addrs) if (!want.addrs.includes(a)) want.addrs.push(a);
    for (const r of l.routes) {
      const src = l.addrs.find((a) => family(a) === family(r.prefix));
      want.routes[r.prefix] = { ...(r.via ? { via: r.via } : {}), ...(src ? { src: host(src) } : {}), mtu: l.mtu };
    }
    want.mtu = Math.max(want.mtu ?? 0, l.mtu);
  }
  return want;
}

const sameRoute = (a: GuestRouteState | undefined, b: GuestRouteState) => a !== undefined && a.via === b.via && a.src === b.src && a.mtu === b.mtu;
const isHostRoute = (prefix: string) => prefix.endsWith(family(prefix) === 4 ? '/32' : '/128');

/** Commands, in order: MTU, new addresses, new or changed routes, primes, removed routes, removed addresses. */
export function guestOps(have: GuestState, want: GuestState): GuestOp[] {
  const ops: GuestOp[] = [];
  if (want.mtu !== undefined && want.mtu !== have.mtu) ops.push({ op: 'mtu', mtu: want.mtu });
  for (const a of want.addrs) if (!have.addrs.includes(a)) ops.push({ op: 'addr-add', cidr: a });
  const primes: GuestOp[] = [];
  for (const [prefix, r] of Object.entries(want.routes)) {
    if (sameRoute(have.routes[prefix], r)) continue;
    ops.push({ op: 'route-replace', prefix, ...r });
    if (r.src && !r.via && isHostRoute(prefix) && !have.routes[prefix]) primes.push({ op: 'prime', src: r.src, dst: host(prefix) });
  }
  ops.push(...primes);
  for (const prefix of Object.keys(have.routes)) if (!(prefix in want.routes)) ops.push({ op: 'route-del', prefix });
  for (const a of have.addrs) if (!want.addrs.includes(a)) ops.push({ op: 'addr-del', cidr: a });
  return ops;
}

/** `have` after `op` succeeded (wanted: the state the op came from). */
export function applyOp(have: GuestState, op: GuestOp, want: GuestState): GuestState {
  switch (op.op) {
    case 'mtu':
      return { ...have, mtu: op.mtu };
    case 'addr-add':
      return { ...have, addrs: [...have.addrs, op.cidr] };
    case 'addr-del':
      return { ...have, addrs: have.addrs.filter((a) => a !== op.cidr) };
    case 'route-replace':
      return { ...have, routes: { ...have.routes, [op.prefix]: want.routes[op.prefix]! } };
    case 'route-del': {
      const routes = { ...have.routes };
      delete routes[op.prefix];
      return { ...have, routes };
    }
    case 'prime':
      return have;
  }
}
