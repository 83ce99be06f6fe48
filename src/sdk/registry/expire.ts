// Bounds every NSE registration's lifetime as upstream's registry does: expiration_time
// becomes the earliest of the requested time, the caller's token expiry and now + maxLifetime
// (default 1 minute), and is set to now + maxLifetime when absent. The store element then
// removes the NSE at that time (streaming a deletion) unless it is registered again.
import type { NetworkServiceEndpoint } from '../../api/index.js';
import { registryElement, type NSERegistryElement } from '../core/registry-chain.js';

/** Upstream's default registration lifetime (cmd-registry-memory's expire period). */
export const DEFAULT_MAX_LIFETIME_MS = 60_000;

export interface ExpireOptions {
  /** Longest lifetime granted to a registration; default one minute. */
  maxLifetimeMs?: number;
  /** Milliseconds since the epoch (tests may pass a fake clock). */
  now?: () => number;
}

/** The expiration time the registry grants. */
export function grantedExpiration(
  requested: Date | undefined,
  tokenExpires: Date | undefined,
  now: number,
  maxLifetimeMs: number,
): Date {
  let t = now + maxLifetimeMs;
  if (requested && requested.getTime() < t) t = requested.getTime();
  if (tokenExpires && tokenExpires.getTime() > now && tokenExpires.getTime() < t) t = tokenExpires.getTime();
  return new Date(t);
}

export function expireNSEElement(opts: ExpireOptions = {}): NSERegistryElement {
  const max = opts.maxLifetimeMs ?? DEFAULT_MAX_LIFETIME_MS;
  const now = opts.now ?? Date.now;
  return registryElement({
    register: async (nse: NetworkServiceEndpoint, ctx, next) => {
      const expirationTime = grantedExpiration(nse.expirationTime, ctx.incoming.tokenExpires, now(), max);
      return next.register({ ...nse, expirationTime }, ctx);
    },
  });
}
