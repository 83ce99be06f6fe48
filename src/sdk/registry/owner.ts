// owner (registry): only the registrant may update or unregister an endpoint
// registration. With mTLS the registrant is the caller's SPIFFE ID (at the registry,
// usually the nsmgr that registers on its endpoints' behalf); a forwarder registration
// needs a forwarder identity. Without identities, the registrant is the process life
// that sent it (`nsm-instance`): another process may only re-register the same name at
// the same URL (a restarted registrant), never point it elsewhere or unregister it
// (a plain client that sends no `nsm-instance` binds nothing, as before).
import type { NetworkServiceEndpoint, NetworkServiceEndpointResponse } from '../../api/index.js';
import { PermissionDeniedError } from '../../api/errors.js';
import type { Ctx } from '../core/ctx.js';
import { registryElement, type NSERegistryElement } from '../core/registry-chain.js';
import { FORWARDER_SERVICE } from './forwarders.js';

/** Who registered a name, and until when that claim holds (the registration's expiry). */
export interface RegistrationOwner {
  spiffeId?: string;
  instance?: string;
  url: string;
  /** Milliseconds since the epoch; the claim lapses with the registration. */
  expires?: number;
}

/** Where owners are kept (default: in memory; the registry server may pass a persistent one). */
export interface OwnerStore {
  get(name: string): Promise<RegistrationOwner | undefined>;
  put(name: string, owner: RegistrationOwner): Promise<void>;
  delete(name: string): Promise<unknown>;
}

export function memoryOwnerStore(): OwnerStore {
  const m = new Map<string, RegistrationOwner>();
  return { get: async (n) => m.get(n), put: async (n, o) => void m.set(n, o), delete: async (n) => m.delete(n) };
}

const CHECK = 'registry-owner';
const FORWARDER_ID = /^spiffe:\/\/[^/]+\/forwarder\//;

function callerOf(nse: NetworkServiceEndpoint, ctx: Ctx, expires?: Date): RegistrationOwner {
  const spiffeId = ctx.incoming.peer?.spiffeId;
  return {
    url: nse.url,
    ...(spiffeId ? { spiffeId } : {}),
    ...(ctx.incoming.instance ? { instance: ctx.incoming.instance } : {}),
    ...(expires ? { expires: expires.getTime() } : {}),
  };
}

/** Why `caller` may not write `owner`'s registration (undefined when it may). */
function refusal(owner: RegistrationOwner, caller: RegistrationOwner, unregister: boolean): string | undefined {
  if (owner.spiffeId) return caller.spiffeId === owner.spiffeId ? undefined : `registered by ${owner.spiffeId}, not ${caller.spiffeId ?? 'an unidentified caller'}`;
  if (caller.spiffeId) return undefined; // registered without identities: the first identified writer takes it over
  // A registrant that sent no process id (a plain client) left nothing to bind the name to.
  if (!owner.instance || caller.instance === owner.instance) return undefined;
  if (!unregister && caller.url === owner.url) return undefined;
  return unregister ? 'registered by another process' : `registered by another process at another URL (${owner.url})`;
}

export function registryOwner(opts: { owners?: OwnerStore; now?: () => number } = {}): NSERegistryElement {
  const owners = opts.owners ?? memoryOwnerStore();
  const now = opts.now ?? Date.now;
  const current = async (name: string) => {
    const o = await owners.get(name);
    return o && (o.expires === undefined || o.expires > now()) ? o : undefined;
  };
  return {
    ...registryElement<NetworkServiceEndpoint, never, NetworkServiceEndpointResponse>({}),
    async register(item, ctx, next) {
      const caller = callerOf(item, ctx);
      if (caller.spiffeId && item.networkServiceNames.includes(FORWARDER_SERVICE) && !FORWARDER_ID.test(caller.spiffeId)) {
        throw new PermissionDeniedError(`${CHECK}: ${item.name}: only a forwarder identity (spiffe://<trust-domain>/forwarder/...) may register the "${FORWARDER_SERVICE}" service, not ${caller.spiffeId}`);
      }
      const owner = await current(item.name);
      const why = owner && refusal(owner, caller, false);
      if (why) throw new PermissionDeniedError(`${CHECK}: Register of ${item.name} refused: ${why}`);
      const stored = await next.register(item, ctx);
      await owners.put(item.name, callerOf(item, ctx, stored.expirationTime));
      return stored;
    },
    async unregister(item, ctx, next) {
      const owner = await current(item.name);
      const why = owner && refusal(owner, callerOf(item, ctx), true);
      if (why) throw new PermissionDeniedError(`${CHECK}: Unregister of ${item.name} refused: ${why}`);
      await next.unregister(item, ctx);
      await owners.delete(item.name);
    },
  };
}
