// passthrough-context: the IP context a passthrough hands back to the previous hop is
// its onward connection's: the client gets the final endpoint's addresses and routes
// (src = the client's end, dst = the far end), so every hop of a chain shares one
// point-to-point pair and the passthrough forwards between its two interfaces.
// Pure; only the previous hop's excluded prefixes are kept from the incoming context.
import { IPContext, Route, type Connection } from '../../api/index.js';

export function chainedIpContext(onward: Connection, incoming: IPContext | undefined): IPContext {
  const o = onward.context?.ipContext;
  return IPContext.fromPartial({
    srcIpAddrs: [...(o?.srcIpAddrs ?? [])],
    dstIpAddrs: [...(o?.dstIpAddrs ?? [])],
    srcRoutes: (o?.srcRoutes ?? []).map((r) => Route.fromPartial(r)),
    dstRoutes: (o?.dstRoutes ?? []).map((r) => Route.fromPartial(r)),
    excludedPrefixes: [...(incoming?.excludedPrefixes ?? [])],
  });
}
