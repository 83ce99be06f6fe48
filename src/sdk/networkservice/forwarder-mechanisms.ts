// forwarder-mechanisms (forwarder): chooses the incoming mechanism from the
// caller's preferences (LOCAL/KERNEL from a client on this node, REMOTE/VXLAN from a
// forwarder on another node), offers the next hop the outgoing one (KERNEL to an
// endpoint on this node, VXLAN to another node), and on the way back hands the
// caller its incoming mechanism while keeping both for the data plane.
import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import type { Mechanism } from '../../api/index.js';
import { parseMeshUrl } from '../../api/transport.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { createContextKey, type Ctx } from '../core/ctx.js';
import { InvalidArgumentError } from '../../api/errors.js';
import { describeMechanisms, isKernel, isVxlan, kernelMechanism, P, vxlanMechanism } from '../tools/mechanisms.js';
import { nextUrlOf } from '../tools/next-url.js';

export interface ForwarderMechanisms {
  incoming: Mechanism;
  outgoing?: Mechanism;
}

/** Per call: the mechanisms of the Request or Close being served, for program-dataplane. */
const CALL_MECHS = createContextKey<ForwarderMechanisms>('forwarder.mechanisms.call');
/** Per connection: the mechanisms of its last successful Request, for refreshes and Close. */
const KEPT_MECHS = createContextKey<ForwarderMechanisms>('forwarder.mechanisms.kept');

/** The mechanisms of the Request or Close being served (set by forwarderMechanisms). */
export function mechanismsOf(ctx: Ctx): ForwarderMechanisms | undefined {
  return ctx.values.get(CALL_MECHS);
}

/** A name for this connection's interface in the endpoint's namespace (<= 15 chars). */
export function endpointIfName(connId: string): string {
  return `nsm-${connId.replace(/-/g, '').slice(0, 8)}`;
}

/** What is wrong with a preference of a supported type, or undefined when it is usable. */
function problemOf(m: Mechanism, underlayIp: string): string | undefined {
  if (isKernel(m)) {
    if (!m.parameters[P.inodeURL]) return 'KERNEL mechanism needs the client namespace in parameter "inodeURL"';
    if (!m.parameters[P.name]) return 'KERNEL mechanism needs the interface name in parameter "name"';
  } else if (isVxlan(m)) {
    const src = m.parameters[P.srcIp];
    if (!src) return 'VXLAN mechanism needs parameter "src_ip"';
    if (isIP(src) === 0) return `VXLAN parameter "src_ip" is not an IP address: ${JSON.stringify(src)}`;
    if (isIP(src) !== isIP(underlayIp)) return `VXLAN "src_ip" ${src} is IPv${isIP(src)} but this forwarder's underlay is IPv${isIP(underlayIp)} (${underlayIp})`;
  }
  return undefined;
}

/** The first usable preference (malformed ones are skipped; if none is usable, the first problem is the error). */
function chooseIncoming(prefs: Mechanism[], current: Mechanism | undefined, underlayIp: string, vni: () => number): Mechanism {
  let problem: string | undefined;
  for (const m of current ? [current, ...prefs] : prefs) {
    if (!isKernel(m) && !isVxlan(m)) continue;
    const wrong = problemOf(m, underlayIp);
    if (wrong) {
      problem ??= wrong;
      continue;
    }
    if (isKernel(m)) return kernelMechanism({ ...m.parameters });
    const proposed = Number(m.parameters[P.vni] ?? '');
    const chosen = Number.isInteger(proposed) && proposed > 0 && proposed < 2 ** 24 ? proposed : vni();
    return vxlanMechanism({ ...m.parameters, [P.dstIp]: underlayIp, [P.vni]: String(chosen) });
  }
  throw new InvalidArgumentError(problem ?? `no supported mechanism (want LOCAL/KERNEL or REMOTE/VXLAN); offered: ${describeMechanisms(prefs)}`);
}

export function forwarderMechanisms(opts: { underlayIp: string }): NetworkServiceElement {
  const newVni = () => randomInt(1, 2 ** 24);
  return element({
    async request(req, ctx, next) {
      const conn = req.connection!;
      const previous = mechanismsOf(ctx) ?? ctx.metadata.get(KEPT_MECHS);
      const incoming = chooseIncoming(req.mechanismPreferences, previous?.incoming ?? conn.mechanism, opts.underlayIp, newVni);
      const url = nextUrlOf(ctx);
      const local = !!url && parseMeshUrl(url).kind === 'unix';
      const prevOut = previous?.outgoing;
      const outgoing = local
        ? kernelMechanism({ [P.name]: prevOut?.parameters[P.name] ?? endpointIfName(conn.id) })
        : vxlanMechanism({ [P.srcIp]: opts.underlayIp, [P.vni]: prevOut?.parameters[P.vni] ?? incoming.parameters[P.vni] ?? String(newVni()) });
      const mechs: ForwarderMechanisms = { incoming };
      ctx.values.set(CALL_MECHS, mechs);
      conn.mechanism = prevOut;
      const out = await next.request({ ...req, mechanismPreferences: [outgoing] }, ctx);
      mechs.outgoing = out.mechanism;
      ctx.metadata.set(KEPT_MECHS, mechs);
      return { ...out, mechanism: incoming };
    },
    async close(conn, ctx, next) {
      const mechs = ctx.metadata.get(KEPT_MECHS);
      if (mechs) ctx.values.set(CALL_MECHS, mechs);
      await next.close({ ...conn, mechanism: mechs?.outgoing ?? conn.mechanism }, ctx);
    },
  });
}
