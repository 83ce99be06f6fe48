// user-policy (registry): asks the user's policy engine whether the caller may Register
// or Unregister an endpoint for each network service it names (principal: the caller's
// SPIFFE ID, else the endpoint's name; resource labels: the endpoint's labels for that service).
import type { NetworkServiceEndpoint, NetworkServiceEndpointResponse } from '../../api/index.js';
import type { Ctx } from '../core/ctx.js';
import { registryElement, type NSERegistryElement } from '../core/registry-chain.js';
import type { PolicyAction, PolicyEngine } from '../tools/policy.js';
import { enforce } from '../networkservice/user-policy.js';

function check(engine: PolicyEngine, nse: NetworkServiceEndpoint, ctx: Ctx, action: PolicyAction, hop: string): void {
  const id = ctx.incoming.peer?.spiffeId ?? nse.name;
  for (const service of nse.networkServiceNames) {
    const labels = { ...(nse.networkServiceLabels[service]?.labels ?? {}) };
    enforce(engine, { principal: { id, labels }, action, resource: { service, labels }, context: { hop, endpoint: nse.name } }, `endpoint "${nse.name}" for service "${service}"`);
  }
}

export function registryUserPolicy(engine: PolicyEngine, hop: string): NSERegistryElement {
  return {
    ...registryElement<NetworkServiceEndpoint, never, NetworkServiceEndpointResponse>({}),
    async register(item, ctx, next) {
      check(engine, item, ctx, 'Register', hop);
      return next.register(item, ctx);
    },
    async unregister(item, ctx, next) {
      check(engine, item, ctx, 'Unregister', hop);
      return next.unregister(item, ctx);
    },
  };
}
