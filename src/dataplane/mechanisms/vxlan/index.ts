// VXLAN (remote): each forwarder puts a VXLAN interface straight into its workload's
// namespace while the tunnel's UDP socket stays in the forwarder's (underlay) namespace.
// The client side offers its underlay address (src_ip) and a VNI; the endpoint side
// adds its own (dst_ip). The underlay may be IPv4 or IPv6 (MTU 1450 or 1430). Either side can make its
// interface ahead of the answer (prepare, prepareEndpoint: see tools/early-tunnel, tools/early-veth).
import { isIP } from 'node:net';
import type { Mechanism } from '../../../api/index.js';
import { aheadOfAnswer, type MechanismEnv, type PreparedTunnel, type ProgramContext, type RemoteMechanism, type Side } from '../../../sdk/tools/mechanism-module.js';
import { P, VXLAN, vxlanMechanism } from '../../../sdk/tools/mechanisms.js';
import { configure, configureOrRemove, createOrAdopt, keptInPlace, linkLocalOnDemand, removeLinks } from '../common/links.js';
import { VniBook } from './vni-book.js';

/** VXLAN's outer headers: Ethernet 14 + UDP 8 + VXLAN 8, plus IPv4 20 or IPv6 40. */
const overhead = (remote: string) => (isIP(remote) === 6 ? 70 : 50);
/** The VNIs of this process's connections: offers and answers avoid one another's (vni-book). */
const vnis = new VniBook();

function validVni(v: string | undefined): number | undefined {
  const n = Number(v ?? '');
  return Number.isInteger(n) && n > 0 && n < 2 ** 24 ? n : undefined;
}

async function program(p: ProgramContext, side: Side, m: Mechanism, role: 'client' | 'endpoint') {
  const remote = role === 'client' ? m.parameters[P.dstIp]! : m.parameters[P.srcIp]!;
  const vni = vnis.use(p.underlayIp, p.connId, Number(m.parameters[P.vni]));
  const links = [{ netns: side.netns, name: side.name }];
  const mtu = mtuOf(p, remote);
  // After a forwarder restart: the tunnel as this Request wants it, kept without a kernel command.
  if (await keptInPlace(p.dp, links, { alias: p.alias, kind: 'vxlan', vni, remote }, [side])) return links;
  await createOrAdopt(p.dp, links[0]!, { alias: p.alias, kind: 'vxlan', vni, remote }, () =>
    p.dp.createVxlan({ name: side.name, targetNetns: side.netns, vni, local: p.underlayIp, remote, alias: p.alias, mtu, ...linkLocalOnDemand(p.dp) }),
  );
  return configureOrRemove(p.dp, links, [side]);
}

const mtuOf = (p: ProgramContext, remote: string) => Math.min(p.mtu ?? 1500, 1500 - overhead(remote));

/**
 * Whether an answer (the context `q`, the side `s` and the remote mechanism `m`, whose peer is `remote`) asks for
 * the tunnel made ahead of it for `p` at `side`: same VNI, MTU, tag and place.
 */
const preparedAs = (p: ProgramContext, side: Side, vni: number, mtu: number) => (q: ProgramContext, s: Side, m: Mechanism, remote: string) =>
  m.type === VXLAN && validVni(m.parameters[P.vni]) === vni && mtuOf(q, remote) === mtu && q.alias === p.alias && s.netns === side.netns && s.name === side.name;

/**
 * Client side, before the peer has answered: the interface in the client's namespace with the offered VNI
 * and no peer yet (the peer's underlay address has the family of ours, which the peer checks, so the MTU is
 * known too); `finish` sets the peer the answer names and the side's addresses and routes in one batch.
 * Only with a data plane that can set a VXLAN's peer afterwards; a name already taken makes it fail, and
 * program-dataplane then programs the usual way (which adopts or refuses).
 */
function prepare(p: ProgramContext, side: Side, offer: Mechanism): Promise<PreparedTunnel> | undefined {
  const setRemote = p.dp.setVxlanRemote?.bind(p.dp);
  const vni = validVni(offer.parameters[P.vni]);
  if (!setRemote || vni === undefined) return undefined;
  // Links the ledger holds for this connection already (an earlier life's, to keep in place or adopt): the usual way.
  if (p.dp.linksTagged?.(p.alias).length) return undefined;
  const mtu = mtuOf(p, p.underlayIp);
  const links = [{ netns: side.netns, name: side.name }];
  const same = preparedAs(p, side, vni, mtu);
  const tunnel: PreparedTunnel = {
    links,
    fits: (q, s, m) => isIP(m.parameters[P.dstIp] ?? '') === isIP(p.underlayIp) && same(q, s, m, m.parameters[P.dstIp]!),
    async finish(_q, s, m) {
      try {
        await Promise.all([setRemote(s.netns, s.name, m.parameters[P.dstIp]!), configure(p.dp, s)]);
      } catch (err) {
        await removeLinks(p.dp, links);
        throw err;
      }
      return links;
    },
  };
  return aheadOfAnswer(p)
    .then((background) => p.dp.createVxlan({ name: side.name, targetNetns: side.netns, vni, local: p.underlayIp, alias: p.alias, mtu, background, ...linkLocalOnDemand(p.dp) }))
    .then(() => tunnel);
}

/**
 * Endpoint side, before the local endpoint has answered: the interface at the predicted `side` (the endpoint's
 * namespace and interface name) with everything the incoming mechanism already says (VNI, the client node as peer,
 * hence the MTU); `finish` adds the side's addresses and routes. Not when the ledger already holds links of this
 * connection (an earlier life's, kept in place or adopted by the usual way); a name taken makes it fail, and
 * program-dataplane then programs the usual way.
 */
function prepareEndpoint(p: ProgramContext, side: Side, incoming: Mechanism): Promise<PreparedTunnel> | undefined {
  const vni = validVni(incoming.parameters[P.vni]);
  const remote = incoming.parameters[P.srcIp];
  if (vni === undefined || !remote || isIP(remote) !== isIP(p.underlayIp)) return undefined;
  if (p.dp.linksTagged?.(p.alias).length) return undefined;
  const mtu = mtuOf(p, remote);
  const links = [{ netns: side.netns, name: side.name }];
  const same = preparedAs(p, side, vni, mtu);
  const tunnel: PreparedTunnel = {
    links,
    fits: (q, s, m) => m.parameters[P.srcIp] === remote && same(q, s, m, remote),
    finish: (_q, s) => configureOrRemove(p.dp, links, [s]),
  };
  return aheadOfAnswer(p)
    .then((background) => p.dp.createVxlan({ name: side.name, targetNetns: side.netns, vni, local: p.underlayIp, remote, alias: p.alias, mtu, background, ...linkLocalOnDemand(p.dp) }))
    .then(() => tunnel);
}

export const vxlan: RemoteMechanism = {
  cls: 'REMOTE',
  type: VXLAN,
  name: 'vxlan',
  check(m: Mechanism, env: MechanismEnv) {
    const src = m.parameters[P.srcIp];
    if (!src) return 'VXLAN mechanism needs parameter "src_ip"';
    if (isIP(src) === 0) return `VXLAN parameter "src_ip" is not an IP address: ${JSON.stringify(src)}`;
    if (isIP(src) !== isIP(env.underlayIp)) return `VXLAN "src_ip" ${src} is IPv${isIP(src)} but this forwarder's underlay is IPv${isIP(env.underlayIp)} (${env.underlayIp})`;
    return undefined;
  },
  offer: (env, previous, incoming, connId) =>
    vxlanMechanism({ [P.srcIp]: env.underlayIp, [P.vni]: previous?.parameters[P.vni] ?? incoming?.parameters[P.vni] ?? String(vnis.fresh(env.underlayIp, connId)) }),
  // An offered VNI another connection here uses (the kernel would refuse a second interface with it) is answered
  // with another; the client side then makes its interface with the answer's (early-tunnel: it does not fit).
  accept: (m, env, connId) => {
    const offered = validVni(m.parameters[P.vni]);
    const vni = offered !== undefined && !vnis.takenByOther(env.underlayIp, offered, connId) ? vnis.use(env.underlayIp, connId, offered) : vnis.fresh(env.underlayIp, connId);
    return vxlanMechanism({ ...m.parameters, [P.dstIp]: env.underlayIp, [P.vni]: String(vni) });
  },
  release: async (connId) => vnis.release(connId),
  program,
  prepare,
  prepareEndpoint,
};
