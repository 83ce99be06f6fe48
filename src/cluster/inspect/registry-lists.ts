// Everything a registry (or an nsmgr's registry proxy) holds: one Find without watch per registry.
import { NetworkServiceEndpointQuery, NetworkServiceQuery, type NetworkService, type NetworkServiceEndpoint } from '../../api/index.js';
import { registryClients } from '../../sdk/registry/client.js';

const deadline = (ms: number) => AbortSignal.timeout(ms);

export async function listServices(url: string, timeoutMs = 5000): Promise<NetworkService[]> {
  const out: NetworkService[] = [];
  for await (const r of registryClients(url).ns.find(NetworkServiceQuery.fromPartial({ networkService: {}, watch: false }), { signal: deadline(timeoutMs) })) {
    if (r.networkService && !r.deleted) out.push(r.networkService);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export async function listEndpoints(url: string, timeoutMs = 5000): Promise<NetworkServiceEndpoint[]> {
  const out: NetworkServiceEndpoint[] = [];
  for await (const r of registryClients(url).nse.find(NetworkServiceEndpointQuery.fromPartial({ networkServiceEndpoint: {}, watch: false }), { signal: deadline(timeoutMs) })) {
    if (r.networkServiceEndpoint && !r.deleted) out.push(r.networkServiceEndpoint);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
