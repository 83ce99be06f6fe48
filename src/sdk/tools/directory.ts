// What nsmgr and forwarder chains need to know from a registry, behind a small
// interface (the gRPC implementation is in registry-directory.ts; tests use fakes).
import type { NetworkService, NetworkServiceEndpoint } from '../../api/index.js';

export interface EndpointDirectory {
  /** The NetworkService named exactly `name`, if registered. */
  service(name: string): Promise<NetworkService | undefined>;
  /** Live endpoints offering `service`. */
  endpointsFor(service: string): Promise<NetworkServiceEndpoint[]>;
  /** The endpoint named exactly `name`, if registered. */
  endpoint(name: string): Promise<NetworkServiceEndpoint | undefined>;
}

/** A registered forwarder left out of selection because its process is gone (see registry/forwarders). */
export interface LostForwarder {
  name: string;
  reason: string;
}

/** The forwarders of this node. */
export interface ForwarderDirectory {
  /** The selectable ones. */
  forwarders(): NetworkServiceEndpoint[];
  /** Registered but lost (their monitor stream broke), if the directory watches them. */
  lost?(): LostForwarder[];
}

export function isLive(nse: NetworkServiceEndpoint, now = Date.now()): boolean {
  return !nse.expirationTime || nse.expirationTime.getTime() > now;
}
