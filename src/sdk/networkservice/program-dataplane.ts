// program-dataplane (forwarder): on the way back, builds this hop's half of the
// data plane from the incoming and outgoing mechanisms and the IP context:
// KERNEL->KERNEL is one veth pair between the client's and the endpoint's
// namespaces; KERNEL->VXLAN and VXLAN->KERNEL put a VXLAN interface, whose
// underlay stays in the forwarder's namespace, straight into the workload's
// namespace. Addresses and routes of both families go on each end as the IP context
// gives them; the VXLAN underlay may be IPv4 or IPv6 (MTU 1450 or 1430).
// Every link is tagged with the connection id; Close removes exactly those.
import { isIP } from 'node:net';
import type { Connection, IPContext, Mechanism } from '../../api/index.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError } from '../../api/errors.js';
import { isKernel, isVxlan, P } from '../tools/mechanisms.js';
import { mechanismsOf } from './forwarder-mechanisms.js';
import { createContextKey } from '../core/ctx.js';

/** The kernel operations the forwarder needs (implemented by dataplane's KernelDriver). */
export interface ForwarderDataplane {
  createVeth(spec: { name: string; netns: string; peerName: string; peerNetns: string; alias: string; mtu?: number }): Promise<void>;
  createVxlan(spec: { name: string; netns?: string; targetNetns: string; vni: number; local: string; remote: string; alias: string; mtu?: number }): Promise<void>;
  addAddress(netns: string, ifname: string, cidr: string): Promise<void>;
  addRoute(netns: string, route: { prefix: string; via?: string; dev: string }): Promise<void>;
  deleteLink(netns: string, name: string): Promise<boolean>;
  /** Links recorded with this alias (by an earlier life of the forwarder, say), if the dataplane keeps a record. */
  linksTagged?(alias: string): ProgrammedLink[];
  /** What exists under this name (undefined: nothing); lets a restarted forwarder adopt its links in place. */
  linkInfo?(netns: string, name: string): Promise<ExistingLink | undefined>;
}

/** A link found in the kernel (see KernelDriver.linkInfo). */
export interface ExistingLink {
  alias?: string;
  kind?: string;
  /** VXLAN only. */
  vni?: number;
  remote?: string;
}

export interface ProgrammedLink {
  netns: string;
  name: string;
}

interface Programmed {
  key: string;
  links: ProgrammedLink[];
}

/** Per connection: what this forwarder programmed for it. */
const PROGRAMMED = createContextKey<Programmed>('dataplane.programmed');
export const ALIAS_PREFIX = 'nsm:';
/** VXLAN's outer headers: Ethernet 14 + UDP 8 + VXLAN 8, plus IPv4 20 or IPv6 40. */
const vxlanOverhead = (remote: string) => (isIP(remote) === 6 ? 70 : 50);

interface Side {
  netns: string;
  name: string;
  addrs: string[];
  routes: { prefix: string; nextHop: string }[];
}

function clientSide(m: Mechanism, ip: IPContext | undefined): Side {
  return { netns: m.parameters[P.inodeURL]!, name: m.parameters[P.name]!, addrs: ip?.srcIpAddrs ?? [], routes: ip?.srcRoutes ?? [] };
}

function endpointSide(m: Mechanism, ip: IPContext | undefined): Side {
  const netns = m.parameters[P.inodeURL];
  if (!netns) throw new FailedPreconditionError('the endpoint did not say which namespace its interface goes in (inodeURL)');
  return { netns, name: m.parameters[P.name]!, addrs: ip?.dstIpAddrs ?? [], routes: ip?.dstRoutes ?? [] };
}

/**
 * Addresses and routes of one side, pipelined. A device route (no next hop) does not
 * need the address, so everything goes at once; a route via a next hop waits for the
 * addresses (the kernel wants the gateway reachable).
 */
async function configure(dp: ForwarderDataplane, side: Side): Promise<void> {
  const route = (r: Side['routes'][number]) => dp.addRoute(side.netns, { prefix: r.prefix, dev: side.name, ...(r.nextHop ? { via: r.nextHop } : {}) });
  const direct = side.routes.filter((r) => !r.nextHop);
  const viaGateway = side.routes.filter((r) => r.nextHop);
  await Promise.all([...side.addrs.map((a) => dp.addAddress(side.netns, side.name, a)), ...direct.map(route)]);
  await Promise.all(viaGateway.map(route));
}

/** Deletes every link (all are tried); resolves with the ones that could not be deleted. */
async function remove(dp: ForwarderDataplane, links: ProgrammedLink[]): Promise<{ link: ProgrammedLink; err: unknown }[]> {
  const results = await Promise.allSettled(links.map((l) => dp.deleteLink(l.netns, l.name)));
  return results.flatMap((r, i) => (r.status === 'rejected' ? [{ link: links[i]!, err: r.reason as unknown }] : []));
}

/** What a link of ours must look like to be adopted as it is. */
interface Wanted {
  alias: string;
  kind: 'veth' | 'vxlan';
  vni?: number;
  remote?: string;
  /** veth: the other end, which must be there (and ours) too. */
  peer?: ProgrammedLink;
}

/** What the kernel has under each of these names (undefined: nothing, or no way to tell). */
async function inspect(dp: ForwarderDataplane, ends: ProgrammedLink[]): Promise<(ExistingLink | undefined)[]> {
  if (!dp.linkInfo) return ends.map(() => undefined);
  return Promise.all(ends.map((l) => dp.linkInfo!(l.netns, l.name).catch(() => undefined)));
}

/** Whether the links found are exactly what we would create, so they can be kept as they are. */
function adoptable(found: (ExistingLink | undefined)[], want: Wanted): boolean {
  return found.every(
    (f) => f !== undefined && f.alias === want.alias && f.kind === want.kind && (want.vni === undefined || f.vni === want.vni) && (want.remote === undefined || f.remote === want.remote),
  );
}

/**
 * Whose the links under our names are, when creating one failed with "already exists": ours
 * (they carry this connection's alias, or the dataplane's record says this connection made or
 * was making them: a forwarder killed before tagging a veth leaves both ends untagged), or
 * someone else's, which is refused with ALREADY_EXISTS: two connections never share an
 * interface name in a namespace, and nothing we did not make is ever deleted.
 */
function checkOwnership(dp: ForwarderDataplane, ends: ProgrammedLink[], found: (ExistingLink | undefined)[], alias: string): void {
  const recorded = dp.linksTagged?.(alias) ?? [];
  let mainRecorded = false;
  ends.forEach((l, i) => {
    const f = found[i];
    if (dp.linkInfo && !f) return;
    if (f?.alias === alias) return;
    if (recorded.some((r) => r.netns === l.netns && r.name === l.name)) {
      if (i === 0) mainRecorded = true;
      return;
    }
    if (i > 0 && mainRecorded && f && !f.alias) return;
    const owner = f?.alias?.startsWith(ALIAS_PREFIX) ? `connection ${f.alias.slice(ALIAS_PREFIX.length)}` : 'something outside this connection';
    throw new AlreadyExistsError(`interface "${l.name}" already exists in ${l.netns} (used by ${owner}); choose another interface name`);
  });
}

/**
 * Runs `create`. A link already there under our name is refused unless it is this connection's
 * (see checkOwnership). Ours, left by an earlier life of this forwarder: when it carries our alias
 * and is what we would create, it is kept as it is (same MAC, so the peer's ARP entry stays valid;
 * addresses and routes are re-applied idempotently); otherwise it is deleted and created anew.
 * Resolves true when adopted.
 */
async function createOrAdopt(dp: ForwarderDataplane, link: ProgrammedLink, want: Wanted, create: () => Promise<void>): Promise<boolean> {
  try {
    await create();
    return false;
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
    const ends = want.peer ? [link, want.peer] : [link];
    const found = await inspect(dp, ends);
    checkOwnership(dp, ends, found, want.alias);
    if (dp.linkInfo && adoptable(found, want)) return true;
    await dp.deleteLink(link.netns, link.name);
    if (want.peer) await dp.deleteLink(want.peer.netns, want.peer.name).catch(() => false);
    await create();
    return false;
  }
}

async function build(dp: ForwarderDataplane, conn: Connection, incoming: Mechanism, outgoing: Mechanism, underlayIp: string): Promise<ProgrammedLink[]> {
  const alias = `${ALIAS_PREFIX}${conn.id}`;
  const ip = conn.context?.ipContext;
  const mtu = conn.context?.MTU || undefined;
  if (isKernel(incoming) && isKernel(outgoing)) {
    const c = clientSide(incoming, ip);
    const e = endpointSide(outgoing, ip);
    const links = [{ netns: c.netns, name: c.name }];
    const peer = { netns: e.netns, name: e.name };
    await createOrAdopt(dp, links[0]!, { alias, kind: 'veth', peer }, () => dp.createVeth({ name: c.name, netns: c.netns, peerName: e.name, peerNetns: e.netns, alias, ...(mtu ? { mtu } : {}) }));
    try {
      await Promise.all([configure(dp, c), configure(dp, e)]);
    } catch (err) {
      await remove(dp, links);
      throw err;
    }
    return links;
  }
  const vxlanSide = (side: Side, m: Mechanism, remote: string): Promise<ProgrammedLink[]> =>
    (async () => {
      const vni = Number(m.parameters[P.vni]);
      const links = [{ netns: side.netns, name: side.name }];
      const vxMtu = Math.min(mtu ?? 1500, 1500 - vxlanOverhead(remote));
      await createOrAdopt(dp, links[0]!, { alias, kind: 'vxlan', vni, remote }, () => dp.createVxlan({ name: side.name, targetNetns: side.netns, vni, local: underlayIp, remote, alias, mtu: vxMtu }));
      try {
        await configure(dp, side);
      } catch (err) {
        await remove(dp, links);
        throw err;
      }
      return links;
    })();
  if (isKernel(incoming) && isVxlan(outgoing)) return vxlanSide(clientSide(incoming, ip), outgoing, outgoing.parameters[P.dstIp]!);
  if (isVxlan(incoming) && isKernel(outgoing)) return vxlanSide(endpointSide(outgoing, ip), incoming, incoming.parameters[P.srcIp]!);
  throw new InvalidArgumentError(`cannot join ${incoming.cls}/${incoming.type} to ${outgoing.cls}/${outgoing.type}`);
}

/** What the data plane of a connection depends on: re-programmed only when it changes. */
function keyOf(conn: Connection, incoming: Mechanism, outgoing: Mechanism): string {
  const ip = conn.context?.ipContext;
  return JSON.stringify([incoming.type, incoming.parameters, outgoing.type, outgoing.parameters, ip?.srcIpAddrs, ip?.dstIpAddrs, ip?.srcRoutes, ip?.dstRoutes]);
}

function recorded(dp: ForwarderDataplane, connId: string): Programmed | undefined {
  const links = dp.linksTagged?.(`${ALIAS_PREFIX}${connId}`) ?? [];
  return links.length > 0 ? { key: '', links } : undefined;
}

export function programDataplane(dp: ForwarderDataplane, opts: { underlayIp: string }): NetworkServiceElement {
  return element({
    async request(req, ctx, next) {
      const out = await next.request(req, ctx);
      const mechs = mechanismsOf(ctx);
      if (!mechs?.incoming || !out.mechanism) {
        // The next hop holds a connection we cannot use: close it rather than leak it.
        await next.close(out, ctx).catch(() => undefined);
        throw new FailedPreconditionError('the next hop returned no mechanism');
      }
      const key = keyOf(out, mechs.incoming, out.mechanism);
      const done = ctx.metadata.get(PROGRAMMED);
      if (done?.key === key) return out;
      try {
        if (done) await remove(dp, done.links);
        const started = performance.now();
        const links = await build(dp, out, mechs.incoming, out.mechanism, opts.underlayIp);
        ctx.metadata.set(PROGRAMMED, { key, links });
        ctx.log.info({ connId: out.id, links, ms: +(performance.now() - started).toFixed(2) }, 'data plane programmed');
      } catch (err) {
        ctx.metadata.delete(PROGRAMMED);
        await next.close(out, ctx).catch(() => undefined);
        throw err;
      }
      return out;
    },
    async close(conn, ctx, next) {
      // Without state (e.g. the forwarder restarted since the Request) the record of tagged links says what to remove.
      const done = ctx.metadata.get(PROGRAMMED) ?? recorded(dp, conn.id);
      ctx.metadata.delete(PROGRAMMED);
      // The kernel takes ~16 ms to delete a veth: do it while the Close travels on.
      const removal = done
        ? remove(dp, done.links).then((failed) => {
            if (failed.length === 0) ctx.log.info({ connId: conn.id, links: done.links }, 'data plane removed');
            for (const f of failed) ctx.log.warn({ connId: conn.id, link: f.link, err: f.err }, 'data plane removal failed');
          })
        : Promise.resolve();
      try {
        await next.close(conn, ctx);
      } finally {
        await removal;
      }
    },
  });
}
