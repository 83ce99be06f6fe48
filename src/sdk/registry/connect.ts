// connect (registry client side): sends Register/Find/Unregister on to another
// registry over gRPC; used by nsmgr to proxy its local endpoints' registrations.
import { createClient } from 'nice-grpc';
import { instanceMetadata } from '../core/grpc-metadata.js';
import { NetworkServiceEndpointRegistryDefinition, NetworkServiceRegistryDefinition } from '../../api/index.js';
import { channelTo } from '../../api/transport.js';
import type { NSERegistryElement, NSRegistryElement } from '../core/registry-chain.js';

export function connectNSRegistry(url: string): NSRegistryElement {
  const client = createClient(NetworkServiceRegistryDefinition, channelTo(url));
  return {
    register: (item, ctx) => client.register(item, { signal: ctx.signal, metadata: instanceMetadata() }),
    find: (query, ctx) => client.find(query, { signal: ctx.signal, metadata: instanceMetadata() }),
    unregister: async (item, ctx) => {
      await client.unregister(item, { signal: ctx.signal, metadata: instanceMetadata() });
    },
  };
}

export function connectNSERegistry(url: string): NSERegistryElement {
  const client = createClient(NetworkServiceEndpointRegistryDefinition, channelTo(url));
  return {
    register: (item, ctx) => client.register(item, { signal: ctx.signal, metadata: instanceMetadata() }),
    find: (query, ctx) => client.find(query, { signal: ctx.signal, metadata: instanceMetadata() }),
    unregister: async (item, ctx) => {
      await client.unregister(item, { signal: ctx.signal, metadata: instanceMetadata() });
    },
  };
}
