// The endpoint chain (assembly only): accepts connections for the network
// services it offers, hands out addresses, and runs the endpoint's own elements.
import type { NetworkServiceElement, NetworkServiceHandler } from '../core/chain.js';
import { chain } from '../core/chain.js';
import { serverHop } from './server-hop.js';
import type { Clock } from '../core/clock.js';
import type { TokenSigner } from '../core/token.js';
import { pointToPointIpam } from '../networkservice/ipam.js';
import type { LeaseStore } from '../tools/p2p-pool.js';
import type { PointToPointPool } from '../tools/p2p-pool.js';
import { kernelEndpoint } from '../networkservice/kernel-endpoint.js';
import { ConnectionMonitor } from '../networkservice/monitor.js';
import { releaseOrphans } from '../networkservice/release-orphans.js';
import { userPolicy } from '../networkservice/user-policy.js';
import type { PolicyEngine } from '../tools/policy.js';

export interface EndpointChainOptions {
  name: string;
  signer: TokenSigner;
  /** Time for token checks and connection expiry (default real time; the sandbox passes a fake). */
  clock?: Clock;
  /** Address pool; empty for endpoints whose addresses come from elsewhere (passthrough). */
  cidrs: string[];
  /** Where address leases are kept across restarts (none: only in memory). */
  leases?: LeaseStore;
  /** This endpoint's network namespace, as a mechanism inodeURL (file:// or inode://). */
  netnsUrl: string;
  /** How workloads attach (default: a kernel interface in netnsUrl; MEMIF endpoints pass memifEndpoint). */
  mechanism?: NetworkServiceElement;
  /** The endpoint's own behaviour (e.g. passthrough's onward connection). */
  extra?: NetworkServiceElement[];
  /** How long a connection waits for its forwarder's monitor stream before it is released (default 15 s). */
  orphanGraceMs?: number;
  /** User policies (Cedar) for Requests and Closes reaching this endpoint. */
  policy?: PolicyEngine;
}

export function newEndpointChain(opts: EndpointChainOptions): { networkService: NetworkServiceHandler; monitor: ConnectionMonitor; pool?: PointToPointPool } {
  const monitor = new ConnectionMonitor();
  const ipam = opts.cidrs.length > 0 ? pointToPointIpam(opts.cidrs, opts.leases ? { store: opts.leases } : {}) : undefined;
  return {
    monitor,
    ...(ipam ? { pool: ipam.pool } : {}),
    networkService: chain(
      ...serverHop(opts.name, opts.signer, monitor, opts.clock),
      ...(opts.policy ? [userPolicy(opts.policy, opts.name)] : []),
      releaseOrphans(monitor, opts.orphanGraceMs !== undefined ? { graceMs: opts.orphanGraceMs } : {}),
      ...(ipam ? [ipam] : []),
      opts.mechanism ?? kernelEndpoint({ netnsUrl: opts.netnsUrl }),
      ...(opts.extra ?? []),
    ),
  };
}
