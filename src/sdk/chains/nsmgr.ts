// The nsmgr chains (assembly only): the NetworkService chain that takes Requests
// from local clients and remote forwarders, and the registry chains it serves to
// its endpoints and forwarders.
import type { NetworkServiceHandler } from '../core/chain.js';
import { chain } from '../core/chain.js';
import { serverHop } from './server-hop.js';
import { registryChain, type NSERegistryHandler, type NSRegistryHandler } from '../core/registry-chain.js';
import type { Clock } from '../core/clock.js';
import type { TokenSigner } from '../core/token.js';
import { connect } from '../networkservice/connect.js';
import { discover } from '../networkservice/discover.js';
import type { EndpointDirectory } from '../tools/directory.js';
import { ConnectionMonitor } from '../networkservice/monitor.js';
import { monitorNext } from '../networkservice/monitor-next.js';
import { nextUrlOf } from '../tools/next-url.js';
import { sharedPeerWatcher } from '../tools/peer-watch.js';
import { selectForwarder } from '../networkservice/select-forwarder.js';
import { admitForwarder, type ForwarderAdmissionOptions } from '../networkservice/admit-forwarder.js';
import { refuseEarly } from '../networkservice/refuse-early.js';
import { namespaceOwnership, type NamespaceFacts } from '../networkservice/namespace-ownership.js';
import { userPolicy } from '../networkservice/user-policy.js';
import { registryUserPolicy } from '../registry/user-policy.js';
import type { PolicyEngine } from '../tools/policy.js';
import { connectNSERegistry, connectNSRegistry } from '../registry/connect.js';
import { localBypass } from '../registry/localbypass.js';
import { localForwarders } from '../registry/forwarders.js';
import { registryReplay } from '../registry/replay.js';
import { registryOwner } from '../registry/owner.js';
import type { Logger } from '../core/log.js';
import { ownDomain } from '../networkservice/own-domain.js';
import { interdomainRegistry } from '../registry/interdomain.js';
import { registryClients } from '../registry/client.js';
import type { DomainMap } from '../tools/domains.js';

export interface NsmgrChainOptions {
  name: string;
  /** The URL remote nsmgrs reach this one at (registered for local endpoints). */
  publicUrl: string;
  registryUrl: string;
  signer: TokenSigner;
  /** Time for token checks and connection expiry (default real time; the sandbox passes a fake). */
  clock?: Clock;
  directory: EndpointDirectory;
  log?: Logger;
  /** Namespace facts for the namespace-ownership check (off when absent, e.g. in the sandbox). */
  namespaces?: NamespaceFacts;
  /** User policies (Cedar) for Requests, Closes and endpoint registrations through this nsmgr. */
  policy?: PolicyEngine;
  /** Interdomain (README: Interdomain): this nsmgr's domain and the registries of the domains it knows. */
  domain?: string;
  domains?: DomainMap;
  /** Requests from local clients in flight / waiting per forwarder (admit-forwarder; defaults 8 / 64, wait <= 15 s). */
  admission?: ForwarderAdmissionOptions;
}

export interface NsmgrChains {
  networkService: NetworkServiceHandler;
  monitor: ConnectionMonitor;
  nsRegistry: NSRegistryHandler;
  nseRegistry: NSERegistryHandler;
  /** Stops the registry watch (replay of local endpoints after a registry restart). */
  close(): void;
}

export function newNsmgrChains(opts: NsmgrChainOptions): NsmgrChains {
  const monitor = new ConnectionMonitor();
  const watcher = sharedPeerWatcher();
  // A forwarder whose monitor stream breaks is out of selection until it registers again (or its stream is back).
  const forwarders = localForwarders({
    watch: (url, lost, back) => {
      const unBreak = watcher.onBreak(url, lost);
      const unBack = watcher.onReconnect(url, back);
      return () => (unBreak(), unBack());
    },
  });
  const admission = admitForwarder(opts.admission);
  const registry = connectNSERegistry(opts.registryUrl);
  const replay = registryReplay({ registry: registryChain(registry), ...(opts.log ? { log: opts.log } : {}) });
  return {
    monitor,
    networkService: chain(
      refuseEarly(opts.name, forwarders, admission),
      ...serverHop(opts.name, opts.signer, monitor, opts.clock),
      ...(opts.namespaces ? [namespaceOwnership(opts.namespaces)] : []),
      ...(opts.policy ? [userPolicy(opts.policy, opts.name)] : []),
      ...(opts.domain ? [ownDomain(opts.domain)] : []),
      discover(opts.directory),
      selectForwarder(forwarders),
      admission,
      monitorNext(monitor, watcher),
      connect(nextUrlOf),
    ),
    nsRegistry: registryChain(connectNSRegistry(opts.registryUrl)),
    nseRegistry: registryChain(
      registryOwner(),
      ...(opts.policy ? [registryUserPolicy(opts.policy, opts.name)] : []),
      forwarders,
      ...(opts.domains && opts.domains.size > 0
        ? [interdomainRegistry({ directory: opts.directory, domains: opts.domains, publicUrl: opts.publicUrl, clientsOf: registryClients, ...(opts.domain ? { own: opts.domain } : {}) })]
        : []),
      localBypass(opts.publicUrl),
      replay,
      registry,
    ),
    close: () => replay.close(),
  };
}
