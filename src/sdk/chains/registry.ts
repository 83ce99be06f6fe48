// The registry server's chains (assembly only): NSE: validate -> owner -> expire -> store;
// NS: validate -> store.
import type { NetworkService, NetworkServiceEndpoint } from '../../api/index.js';
import type { RegistryStore } from '../registry/registry-store.js';
import { registryChain, type NSERegistryHandler, type NSRegistryHandler } from '../core/registry-chain.js';
import { expireNSEElement } from '../registry/expire.js';
import { nsStoreElement, nseStoreElement } from '../registry/store.js';
import { validateNSElement, validateNSEElement } from '../registry/validate.js';
import { registryOwner, type OwnerStore } from '../registry/owner.js';
import { registryUserPolicy } from '../registry/user-policy.js';
import type { PolicyEngine } from '../tools/policy.js';

export interface RegistryStores {
  ns: RegistryStore<NetworkService>;
  nse: RegistryStore<NetworkServiceEndpoint>;
  /** Who registered each endpoint (default: in memory). */
  owners?: OwnerStore;
}

export interface RegistryServerOptions {
  /** Longest lifetime granted to an NSE registration (default one minute, as upstream). */
  maxLifetimeMs?: number;
  /** Milliseconds since the epoch (tests may pass a fake clock). */
  now?: () => number;
  /** Most events a Find(watch) consumer may fall behind before it is dropped (default 1024). */
  maxQueuedEvents?: number;
  /** User policies (Cedar) for endpoint registrations. */
  policy?: PolicyEngine;
}

export function newRegistryServer(
  stores: RegistryStores,
  opts: RegistryServerOptions = {},
): { ns: NSRegistryHandler; nse: NSERegistryHandler } {
  const clock = opts.now ? { now: opts.now } : {};
  const storeOpts = { ...clock, ...(opts.maxQueuedEvents !== undefined ? { maxQueuedEvents: opts.maxQueuedEvents } : {}) };
  return {
    nse: registryChain(
      validateNSEElement(clock),
      registryOwner({ ...clock, ...(stores.owners ? { owners: stores.owners } : {}) }),
      ...(opts.policy ? [registryUserPolicy(opts.policy, 'registry')] : []),
      expireNSEElement({ ...clock, ...(opts.maxLifetimeMs !== undefined ? { maxLifetimeMs: opts.maxLifetimeMs } : {}) }),
      nseStoreElement(stores.nse, storeOpts),
    ),
    ns: registryChain(validateNSElement(), nsStoreElement(stores.ns, storeOpts)),
  };
}
