// VXLAN (remote): each forwarder puts a VXLAN interface straight into its workload's
// namespace while the tunnel's UDP socket stays in the forwarder's (underlay) namespace.
// The client side offers its underlay address (src_ip) and a VNI; the endpoint side
// adds its own (dst_ip). The underlay may be IPv4 or IPv6 (MTU 1450 or 1430).
import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import type { Mechanism } from '../../../api/index.js';
import type { MechanismEnv, ProgramContext, RemoteMechanism, Side } from '../../../sdk/tools/mechanism-module.js';
import { P, VXLAN, vxlanMechanism } from '../../../sdk/tools/mechanisms.js';
import { configureOrRemove, createOrAdopt, keptInPlace } from '../common/links.js';

/** VXLAN's outer headers: Ethernet 14 + UDP 8 + VXLAN 8, plus IPv4 20 or IPv6 40. */
const overhead = (remote: string) => (isIP(remote) === 6 ? 70 : 50);
const newVni = () => randomInt(1, 2 ** 24);

function validVni(v: string | undefined): number | undefined {
  const n = Number(v ?? '');
  return Number.isInteger(n) && n > 0 && n < 2 ** 24 ? n : undefined;
}

async function program(p: ProgramContext, side: Side, m: Mechanism, role: 'client' | 'endpoint') {
  const remote = role === 'client' ? m.parameters[P.dstIp]! : m.parameters[P.srcIp]!;
  const vni = Number(m.parameters[P.vni]);
  const links = [{ netns: side.netns, name: side.name }];
  const mtu = Math.min(p.mtu ?? 1500, 1500 - overhead(remote));
  // After a forwarder restart: the tunnel as this Request wants it, kept without a kernel command.
  if (await keptInPlace(p.dp, links, { alias: p.alias, kind: 'vxlan', vni, remote }, [side])) return links;
  await createOrAdopt(p.dp, links[0]!, { alias: p.alias, kind: 'vxlan', vni, remote }, () =>
    p.dp.createVxlan({ name: side.name, targetNetns: side.netns, vni, local: p.underlayIp, remote, alias: p.alias, mtu }),
  );
  return configureOrRemove(p.dp, links, [side]);
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
  offer: (env, previous, incoming) =>
    vxlanMechanism({ [P.srcIp]: env.underlayIp, [P.vni]: previous?.parameters[P.vni] ?? incoming?.parameters[P.vni] ?? String(newVni()) }),
  accept: (m, env) => vxlanMechanism({ ...m.parameters, [P.dstIp]: env.underlayIp, [P.vni]: String(validVni(m.parameters[P.vni]) ?? newVni()) }),
  program,
};
