// program-dataplane (forwarder): on the way back, builds this hop's half of the
// data plane from the incoming and outgoing mechanisms and the IP context through
// the mechanism modules that own them (src/dataplane/mechanisms/<name>/): two local
// ones are cross-connected (KERNEL->KERNEL: one veth pair); a local and a remote one
// are the remote module's tunnel put into the workload's namespace. It re-programs
// only when what the data plane depends on changes. Every link is tagged with the
// connection id; Close removes exactly those. On the client side of a remote connection the
// tunnel interface is made while the Request travels on (tools/early-tunnel); toward an endpoint on this node, when
// that endpoint's previous answer says where its end goes, its end (tools/early-veth): the veth pair from a client
// on this node, the tunnel interface from another node.
import type { Connection, Mechanism } from '../../api/index.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { FailedPreconditionError, InvalidArgumentError } from '../../api/errors.js';
import { createContextKey } from '../core/ctx.js';
import { mechanismsOf } from './forwarder-mechanisms.js';
import type { ForwarderDataplane, ProgrammedLink } from '../tools/forwarder-dataplane.js';
import { findMechanism, type LocalMechanism, type MechanismRegistry, type ProgramContext, type Side } from '../tools/mechanism-module.js';
import { PendingRemovals } from '../tools/pending-removals.js';
import { startEarlyTunnel } from '../tools/early-tunnel.js';
import { EarlyVeths, localEndpointKey } from '../tools/early-veth.js';
import { nextUrlOf } from '../tools/next-url.js';

export type { EarlierLink, ExistingLink, ForwarderDataplane, ProgrammedLink } from '../tools/forwarder-dataplane.js';

interface Programmed {
  key: string;
  links: ProgrammedLink[];
}

/** Per connection: what this forwarder programmed for it. */
const PROGRAMMED = createContextKey<Programmed>('dataplane.programmed');
export const ALIAS_PREFIX = 'nsm:';

/** Deletes every link (all are tried); resolves with the ones that could not be deleted. */
async function remove(dp: ForwarderDataplane, links: ProgrammedLink[]): Promise<{ link: ProgrammedLink; err: unknown }[]> {
  const results = await Promise.allSettled(links.map((l) => dp.deleteLink(l.netns, l.name)));
  return results.flatMap((r, i) => (r.status === 'rejected' ? [{ link: links[i]!, err: r.reason as unknown }] : []));
}

function contextOf(dp: ForwarderDataplane, conn: Connection, underlayIp: string): ProgramContext {
  const mtu = conn.context?.MTU || undefined;
  return { dp, connId: conn.id, alias: `${ALIAS_PREFIX}${conn.id}`, service: conn.networkService, underlayIp, ...(mtu ? { mtu } : {}) };
}

/** Joins the incoming to the outgoing mechanism through the modules that own them. */
async function build(reg: MechanismRegistry, dp: ForwarderDataplane, conn: Connection, incoming: Mechanism, outgoing: Mechanism, underlayIp: string): Promise<ProgrammedLink[]> {
  const p = contextOf(dp, conn, underlayIp);
  const ip = conn.context?.ipContext;
  const from = findMechanism(reg, incoming);
  const to = findMechanism(reg, outgoing);
  if (from?.cls === 'LOCAL' && to?.cls === 'LOCAL' && (from.type === to.type || from.crossConnects?.includes(to.type))) return from.crossConnect(p, from.clientSide(incoming, ip), to.endpointSide(outgoing, ip));
  if (from?.cls === 'LOCAL' && to?.cls === 'REMOTE') return joined(dp, from, from.clientSide(incoming, ip), (side) => to.program(p, side, outgoing, 'client'), p);
  if (from?.cls === 'REMOTE' && to?.cls === 'LOCAL') return joined(dp, to, to.endpointSide(outgoing, ip), (side) => from.program(p, side, incoming, 'endpoint'), p);
  throw new InvalidArgumentError(`cannot join ${incoming.cls}/${incoming.type} to ${outgoing.cls}/${outgoing.type}`);
}

/** The remote module's tunnel at `side`, then (for a local mechanism that is no kernel interface, MEMIF) joined to the workload. */
async function joined(dp: ForwarderDataplane, local: LocalMechanism, side: Side, program: (side: Side) => Promise<ProgrammedLink[]>, p: ProgramContext): Promise<ProgrammedLink[]> {
  const links = await program(side);
  if (!local.joinRemote || !links[0]) return links;
  try {
    return [...links, ...(await local.joinRemote(p, side, links[0]))];
  } catch (err) {
    await remove(dp, links);
    throw err;
  }
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

/** `backgroundRemoval`: Close returns without waiting for the links' removal (a later link of the same name waits for it). */
export function programDataplane(dp: ForwarderDataplane, opts: { underlayIp: string; mechanisms: MechanismRegistry; backgroundRemoval?: boolean }): NetworkServiceElement {
  const removals = new PendingRemovals();
  const guarded = removals.guard(dp);
  const veths = new EarlyVeths(opts.mechanisms);
  /** What a connection holds besides links (helper processes such as wireguard-go, charon): every remote module releases its own. */
  const release = (connId: string, log: { warn(o: object, msg: string): void }) =>
    Promise.all(
      [...opts.mechanisms.local, ...opts.mechanisms.remote].flatMap((m) =>
        m.release ? [m.release(connId, dp).catch((err: unknown) => log.warn({ connId, mechanism: m.type, err: String(err) }, 'mechanism release failed'))] : [],
      ),
    );
  /** Requests being served now: links made ahead of an answer while it is the only one go from this thread (aheadOfAnswer). */
  let serving = 0;
  const ahead = (conn: Connection): ProgramContext => ({ ...contextOf(guarded, conn, opts.underlayIp), ...(serving === 1 ? { idle: true } : {}) });
  const programming = element({
    async request(req, ctx, next) {
      const before = mechanismsOf(ctx)?.incoming;
      // A connection not programmed yet: its tunnel interface may be made while the Request travels on.
      const fresh = before && req.connection && !ctx.metadata.get(PROGRAMMED) ? req.connection : undefined;
      const early = fresh ? startEarlyTunnel(opts.mechanisms, ahead(fresh), before!, req.mechanismPreferences, ctx.log) : undefined;
      // To an endpoint on this node: its veth pair or tunnel interface (not on a refresh, which has an outgoing mechanism already).
      const endpoint = localEndpointKey(req.connection?.networkServiceEndpointName, nextUrlOf(ctx));
      const requestMtu = req.connection?.context?.MTU || undefined;
      const veth =
        fresh && endpoint && !early && !fresh.mechanism ? veths.start(endpoint, ahead(fresh), before!, req.mechanismPreferences, ctx.log) : undefined;
      let out: Connection;
      try {
        out = await next.request(req, ctx);
      } catch (err) {
        if (endpoint) veths.forget(endpoint);
        await Promise.all([early?.discard(), veth?.discard()]);
        throw err;
      }
      const mechs = mechanismsOf(ctx);
      if (!mechs?.incoming || !out.mechanism) {
        await Promise.all([early?.discard(), veth?.discard()]);
        // The next hop holds a connection we cannot use: close it rather than leak it.
        await next.close(out, ctx).catch(() => undefined);
        throw new FailedPreconditionError('the next hop returned no mechanism');
      }
      if (endpoint) veths.observe(endpoint, req.mechanismPreferences[0], out.mechanism, requestMtu, out.context?.MTU || undefined);
      const key = keyOf(out, mechs.incoming, out.mechanism);
      const done = ctx.metadata.get(PROGRAMMED);
      if (done?.key === key) return out;
      try {
        if (done) await Promise.all([remove(dp, done.links), release(out.id, ctx.log)]);
        const started = performance.now();
        const local = early && findMechanism(opts.mechanisms, mechs.incoming);
        const finished =
          (local?.cls === 'LOCAL' ? await early!.finish(contextOf(guarded, out, opts.underlayIp), local.clientSide(mechs.incoming, out.context?.ipContext), out.mechanism) : await early?.discard()) ??
          (await veth?.finish(contextOf(guarded, out, opts.underlayIp), mechs.incoming, out.mechanism, out.context?.ipContext));
        const links = finished ?? (await build(opts.mechanisms, guarded, out, mechs.incoming, out.mechanism, opts.underlayIp));
        ctx.metadata.set(PROGRAMMED, { key, links });
        ctx.log.info({ connId: out.id, links, ms: +(performance.now() - started).toFixed(2), ...(finished ? { early: true } : {}) }, 'data plane programmed');
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
      // The kernel takes ~16 ms to delete a veth: do it while the Close travels on. With `backgroundRemoval` the
      // Close does not wait for it at all; a later link of the same name waits for it (PendingRemovals).
      const removal = done
        ? remove(dp, done.links).then((failed) => {
            if (failed.length === 0) ctx.log.info({ connId: conn.id, links: done.links }, 'data plane removed');
            for (const f of failed) ctx.log.warn({ connId: conn.id, link: f.link, err: f.err }, 'data plane removal failed');
          })
        : Promise.resolve();
      if (done) removals.track(done.links, removal);
      const released = release(conn.id, ctx.log);
      try {
        await next.close(conn, ctx);
      } finally {
        if (!opts.backgroundRemoval) await removal;
        await released;
      }
    },
  });
  return element({
    request(req, ctx, next) {
      serving++;
      return programming.request(req, ctx, next).finally(() => serving--);
    },
    close: (conn, ctx, next) => programming.close(conn, ctx, next),
  });
}
