// The forwarder chain (assembly only): a hop in every path that programs its
// half of the data plane on the way back.
import type { NetworkServiceHandler } from '../core/chain.js';
import { chain } from '../core/chain.js';
import { serverHop } from './server-hop.js';
import type { Clock } from '../core/clock.js';
import type { TokenSigner } from '../core/token.js';
import { connect } from '../networkservice/connect.js';
import type { EndpointDirectory } from '../tools/directory.js';
import { forwarderMechanisms } from '../networkservice/forwarder-mechanisms.js';
import type { MechanismRegistry } from '../tools/mechanism-module.js';
import { ConnectionMonitor } from '../networkservice/monitor.js';
import { monitorNext } from '../networkservice/monitor-next.js';
import { nextUrlOf } from '../tools/next-url.js';
import { sharedPeerWatcher } from '../tools/peer-watch.js';
import { programDataplane, type ForwarderDataplane } from '../networkservice/program-dataplane.js';
import { resolveEndpoint } from '../networkservice/resolve-endpoint.js';

export interface ForwarderChainOptions {
  name: string;
  underlayIp: string;
  signer: TokenSigner;
  /** Time for token checks and connection expiry (default real time; the sandbox passes a fake). */
  clock?: Clock;
  /** The node's nsmgr registry (finds endpoints with local URLs for local ones). */
  directory: EndpointDirectory;
  dataplane: ForwarderDataplane;
  /** The mechanisms it supports (components wire src/dataplane/mechanisms); remote ones in priority order. */
  mechanisms: MechanismRegistry;
  /** Close returns before the kernel has removed the connection's links (see programDataplane). */
  backgroundRemoval?: boolean;
  /** Network services whose remote connections must use an encrypting mechanism (WIREGUARD, IPSEC). */
  encryptedServices?: string[];
}

export function newForwarderChain(opts: ForwarderChainOptions): { networkService: NetworkServiceHandler; monitor: ConnectionMonitor } {
  const monitor = new ConnectionMonitor();
  return {
    monitor,
    networkService: chain(
      ...serverHop(opts.name, opts.signer, monitor, opts.clock),
      resolveEndpoint(opts.directory),
      forwarderMechanisms({ underlayIp: opts.underlayIp, mechanisms: opts.mechanisms, ...(opts.encryptedServices ? { encryptedServices: opts.encryptedServices } : {}) }),
      programDataplane(opts.dataplane, { underlayIp: opts.underlayIp, mechanisms: opts.mechanisms, ...(opts.backgroundRemoval ? { backgroundRemoval: true } : {}) }),
      monitorNext(monitor, sharedPeerWatcher()),
      connect(nextUrlOf),
    ),
  };
}
