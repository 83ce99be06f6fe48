// EndpointDirectory over gRPC: asks a registry (or an nsmgr's registry proxy)
// with non-watching Finds.
import { createClient } from 'nice-grpc';
import {
  NetworkServiceEndpointRegistryDefinition,
  NetworkServiceRegistryDefinition,
  type NetworkService,
  type NetworkServiceEndpoint,
} from '../../api/index.js';
import { channelTo } from '../../api/transport.js';
import { isLive, type EndpointDirectory } from './directory.js';

async function collect<T>(stream: AsyncIterable<{ deleted: boolean } & T>): Promise<T[]> {
  const out: T[] = [];
  for await (const r of stream) if (!r.deleted) out.push(r);
  return out;
}

export function registryDirectory(url: string, timeoutMs = 5000): EndpointDirectory {
  const ns = createClient(NetworkServiceRegistryDefinition, channelTo(url));
  const nse = createClient(NetworkServiceEndpointRegistryDefinition, channelTo(url));
  const findNses = async (query: Partial<NetworkServiceEndpoint>): Promise<NetworkServiceEndpoint[]> => {
    const rs = await collect(nse.find({ networkServiceEndpoint: query, watch: false }, { signal: AbortSignal.timeout(timeoutMs) }));
    return rs.map((r) => r.networkServiceEndpoint!).filter((e) => e && isLive(e));
  };
  return {
    async service(name) {
      const rs = await collect(ns.find({ networkService: { name }, watch: false }, { signal: AbortSignal.timeout(timeoutMs) }));
      return rs.map((r) => r.networkService).find((s): s is NetworkService => s?.name === name);
    },
    endpointsFor: (service) => findNses({ networkServiceNames: [service] }),
    async endpoint(name) {
      return (await findNses({ name })).find((e) => e.name === name);
    },
  };
}
