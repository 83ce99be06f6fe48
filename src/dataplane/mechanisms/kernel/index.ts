// KERNEL (local): a workload's interface in its own namespace, named by the client
// (parameter "name") or by the forwarder for an endpoint. Client and endpoint on one
// node are joined by one veth pair, each end created directly in its namespace (made early, while
// the Request travels to the endpoint, when its end can be predicted: tools/early-veth; from a worker thread).
import type { IPContext, Mechanism } from '../../../api/index.js';
import { FailedPreconditionError } from '../../../api/errors.js';
import { aheadOfAnswer, endpointIfName, type LocalMechanism, type PreparedCrossConnect, type ProgramContext, type Side } from '../../../sdk/tools/mechanism-module.js';
import { KERNEL, kernelMechanism, P } from '../../../sdk/tools/mechanisms.js';
import { configureOrRemove, createOrAdopt, keptInPlace, linkLocalOnDemand } from '../common/links.js';

async function crossConnect(p: ProgramContext, c: Side, e: Side) {
  const links = [{ netns: c.netns, name: c.name }];
  const peer = { netns: e.netns, name: e.name };
  // After a forwarder restart: the pair as this Request wants it, kept without a kernel command.
  if (await keptInPlace(p.dp, [links[0]!, peer], { alias: p.alias, kind: 'veth' }, [c, e])) return links;
  await createOrAdopt(p.dp, links[0]!, { alias: p.alias, kind: 'veth', peer }, () =>
    p.dp.createVeth({ name: c.name, netns: c.netns, peerName: e.name, peerNetns: e.netns, alias: p.alias, ...(p.mtu ? { mtu: p.mtu } : {}), ...linkLocalOnDemand(p.dp) }),
  );
  return configureOrRemove(p.dp, links, [c, e]);
}

const sameEnd = (a: Side, b: Side) => a.netns === b.netns && a.name === b.name;

/**
 * How an early pair is sent. By default from a worker thread (rtnetlink's own lane for links made ahead, never
 * behind a Close's deletion), also when the forwarder serves nothing else: the endpoint's answer is then read as
 * soon as it comes while the kernel makes the pair (on this thread, its 1-3 ms, far more when the machine's rtnl
 * lock is contended, held the answer up). It is on its way there before the Request goes on to the endpoint (the
 * kernel takes longer for the pair than the endpoint for its answer). NSM_EARLY_VETH=main: the earlier way
 * (aheadOfAnswer), for A/B runs.
 */
const onMainThread = () => process.env.NSM_EARLY_VETH === 'main';

/**
 * Before a local endpoint has answered: the veth pair with both ends in their namespaces, named, tagged,
 * with the MTU and up (the endpoint's end where the caller predicts it); `finish` adds both ends' addresses
 * and routes. Not when the ledger already holds links of this connection (an earlier life's, kept in
 * place or adopted by the usual path); a name already taken makes it fail, and the usual path decides.
 */
function prepareCrossConnect(p: ProgramContext, c: Side, e: Side): Promise<PreparedCrossConnect> | undefined {
  if (p.dp.linksTagged?.(p.alias).length) return undefined;
  const links = [{ netns: c.netns, name: c.name }];
  const made: PreparedCrossConnect = {
    links,
    fits: (q, c2, e2) => q.alias === p.alias && q.mtu === p.mtu && sameEnd(c2, c) && sameEnd(e2, e),
    finish: (_q, c2, e2) => configureOrRemove(p.dp, links, [c2, e2]),
  };
  const create = (background: boolean) =>
    p.dp.createVeth({ name: c.name, netns: c.netns, peerName: e.name, peerNetns: e.netns, alias: p.alias, ...(p.mtu ? { mtu: p.mtu } : {}), background, ...linkLocalOnDemand(p.dp) });
  return (onMainThread() ? aheadOfAnswer(p).then(create) : create(true)).then(() => made);
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
  prepareCrossConnect,
};
