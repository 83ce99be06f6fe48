// KERNEL (local): a workload's interface in its own namespace, named by the client
// (parameter "name") or by the forwarder for an endpoint. Client and endpoint on one
// node are joined by one veth pair, each end created directly in its namespace.
import type { IPContext, Mechanism } from '../../../api/index.js';
import { FailedPreconditionError } from '../../../api/errors.js';
import { endpointIfName, type LocalMechanism, type ProgramContext, type Side } from '../../../sdk/tools/mechanism-module.js';
import { KERNEL, kernelMechanism, P } from '../../../sdk/tools/mechanisms.js';
import { configureOrRemove, createOrAdopt, keptInPlace } from '../common/links.js';

async function crossConnect(p: ProgramContext, c: Side, e: Side) {
  const links = [{ netns: c.netns, name: c.name }];
  const peer = { netns: e.netns, name: e.name };
  // After a forwarder restart: the pair as this Request wants it, kept without a kernel command.
  if (await keptInPlace(p.dp, [links[0]!, peer], { alias: p.alias, kind: 'veth' }, [c, e])) return links;
  await createOrAdopt(p.dp, links[0]!, { alias: p.alias, kind: 'veth', peer }, () =>
    p.dp.createVeth({ name: c.name, netns: c.netns, peerName: e.name, peerNetns: e.netns, alias: p.alias, ...(p.mtu ? { mtu: p.mtu } : {}) }),
  );
  return configureOrRemove(p.dp, links, [c, e]);
}

export const kernel: LocalMechanism = {
  cls: 'LOCAL',
  type: KERNEL,
  check(m: Mechanism) {
    if (!m.parameters[P.inodeURL]) return 'KERNEL mechanism needs the client namespace in parameter "inodeURL"';
    if (!m.parameters[P.name]) return 'KERNEL mechanism needs the interface name in parameter "name"';
    return undefined;
  },
  accept: (m) => kernelMechanism({ ...m.parameters }),
  offer: (connId, previous) => kernelMechanism({ [P.name]: previous?.parameters[P.name] ?? endpointIfName(connId) }),
  clientSide: (m: Mechanism, ip: IPContext | undefined): Side => ({
    netns: m.parameters[P.inodeURL]!,
    name: m.parameters[P.name]!,
    addrs: ip?.srcIpAddrs ?? [],
    routes: ip?.srcRoutes ?? [],
  }),
  endpointSide(m: Mechanism, ip: IPContext | undefined): Side {
    const netns = m.parameters[P.inodeURL];
    if (!netns) throw new FailedPreconditionError('the endpoint did not say which namespace its interface goes in (inodeURL)');
    return { netns, name: m.parameters[P.name]!, addrs: ip?.dstIpAddrs ?? [], routes: ip?.dstRoutes ?? [] };
  },
  crossConnect,
};
