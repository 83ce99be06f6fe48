// connect (registry client side): sends Register/Find/Unregister on to another
// registry over gRPC; used by nsmgr to proxy its local endpoints' registrations.
import { createClient } from 'nice-grpc';
import { NetworkServiceEndpointRegistryDefinition, NetworkServiceRegistryDefinition } from '../../api/index.js';
import { channelTo } from '../../api/transport.js';
import type { NSERegistryElement, NSRegistryElement } from '../core/registry-chain.js';

export function connectNSRegistry(url: string): NSRegistryElement {
  const client = createClient(NetworkServiceRegistryDefinition, channelTo(url));
  return {
    register: (item, ctx) => client.register(item, { signal: ctx.signal }),
    find: (query, ctx) => client.find(query, { signal: ctx.signal }),
    unregister: async (item, ctx) => {
      await client.unregister(item, { signal: ctx.signal });
    },
  };
}

export function connectNSERegistry(url: string): NSERegistryElement {
  const client = createClient(NetworkServiceEndpointRegistryDefinition, channelTo(url));
  return {
    register: (item, ctx) => client.register(item, { signal: ctx.signal }),
    find: (query, ctx) => client.find(query, { signal: ctx.signal }),
    unregister: async (item, ctx) => {
      await client.unregister(item, { signal: ctx.signal });
    },
  };
}
