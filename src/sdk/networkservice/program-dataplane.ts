// program-dataplane (forwarder): on the way back, builds this hop's half of the
// data plane from the incoming and outgoing mechanisms and the IP context through
// the mechanism modules that own them (src/dataplane/mechanisms/<name>/): two local
// ones are cross-connected (KERNEL->KERNEL: one veth pair); a local and a remote one
// are the remote module's tunnel put into the workload's namespace. It re-programs
// only when what the data plane depends on changes. Every link is tagged with the
// connection id; Close removes exactly those.
import type { Connection, Mechanism } from '../../api/index.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { FailedPreconditionError, InvalidArgumentError } from '../core/errors.js';
import { mechanismsOf } from './forwarder-mechanisms.js';
import { findMechanism, type MechanismRegistry, type ProgramContext } from './mechanism-module.js';

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
  /** Raw iproute2 lines in a namespace ("host": the forwarder's own), for mechanisms that need rules and lwtunnel routes; errors matching `ignore` are not errors. */
  ipLines?(netns: string, lines: string[], ignore?: RegExp): Promise<void>;
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

export interface ProgrammedLink {
  netns: string;
  name: string;
}

interface Programmed {
  key: string;
  links: ProgrammedLink[];
}

const PROGRAMMED = Symbol('dataplane.programmed');
export const ALIAS_PREFIX = 'nsm:';

async function remove(dp: ForwarderDataplane, links: ProgrammedLink[]): Promise<void> {
  await Promise.all(links.map((l) => dp.deleteLink(l.netns, l.name).catch(() => false)));
}

/** Joins the incoming to the outgoing mechanism through the modules that own them. */
async function build(reg: MechanismRegistry, dp: ForwarderDataplane, conn: Connection, incoming: Mechanism, outgoing: Mechanism, underlayIp: string): Promise<ProgrammedLink[]> {
  const mtu = conn.context?.MTU || undefined;
  const p: ProgramContext = { dp, connId: conn.id, alias: `${ALIAS_PREFIX}${conn.id}`, service: conn.networkService, underlayIp, ...(mtu ? { mtu } : {}) };
  const ip = conn.context?.ipContext;
  const from = findMechanism(reg, incoming);
  const to = findMechanism(reg, outgoing);
  if (from?.cls === 'LOCAL' && to?.cls === 'LOCAL') return from.crossConnect(p, from.clientSide(incoming, ip), to.endpointSide(outgoing, ip));
  if (from?.cls === 'LOCAL' && to?.cls === 'REMOTE') return to.program(p, from.clientSide(incoming, ip), outgoing, 'client');
  if (from?.cls === 'REMOTE' && to?.cls === 'LOCAL') return from.program(p, to.endpointSide(outgoing, ip), incoming, 'endpoint');
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

export function programDataplane(dp: ForwarderDataplane, opts: { underlayIp: string; mechanisms: MechanismRegistry }): NetworkServiceElement {
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
      const done = ctx.metadata.get(PROGRAMMED) as Programmed | undefined;
      if (done?.key === key) return out;
      try {
        if (done) await remove(dp, done.links);
        const started = performance.now();
        const links = await build(opts.mechanisms, dp, out, mechs.incoming, out.mechanism, opts.underlayIp);
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
      const done = (ctx.metadata.get(PROGRAMMED) as Programmed | undefined) ?? recorded(dp, conn.id);
      ctx.metadata.delete(PROGRAMMED);
      // The kernel takes ~16 ms to delete a veth: do it while the Close travels on.
      const removal = done
        ? remove(dp, done.links).then(() => ctx.log.info({ connId: conn.id, links: done.links }, 'data plane removed'))
        : Promise.resolve();
      try {
        await next.close(conn, ctx);
      } finally {
        await removal;
      }
    },
  });
}
