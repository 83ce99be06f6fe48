// The nsmgr-proxy chain (assembly only): a domain's edge hop for interdomain Requests, with its own
// path segment and token like every hop, then proxy-route and connect.
import type { NetworkServiceHandler } from '../core/chain.js';
import { chain } from '../core/chain.js';
import type { Clock } from '../core/clock.js';
import type { TokenSigner } from '../core/token.js';
import { connect } from '../networkservice/connect.js';
import { ConnectionMonitor } from '../networkservice/monitor.js';
import { proxyRoute } from '../networkservice/proxy-route.js';
import type { EndpointDirectory } from '../tools/directory.js';
import type { DomainMap } from '../tools/domains.js';
import { nextUrlOf } from '../tools/next-url.js';
import { serverHop } from './server-hop.js';

export interface NsmgrProxyChainOptions {
  name: string;
  signer: TokenSigner;
  clock?: Clock;
  own: string;
  proxies: DomainMap;
  directory: EndpointDirectory;
}

export function newNsmgrProxyChain(opts: NsmgrProxyChainOptions): { networkService: NetworkServiceHandler; monitor: ConnectionMonitor } {
  const monitor = new ConnectionMonitor();
  return {
    monitor,
    networkService: chain(
      ...serverHop(opts.name, opts.signer, monitor, opts.clock),
      proxyRoute({ own: opts.own, proxies: opts.proxies, directory: opts.directory }),
      connect(nextUrlOf),
    ),
  };
}
