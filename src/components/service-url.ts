// Client service URLs as upstream writes them: kernel://service[@domain]/ifname?k=v&k2=v2
// (memif://service/m0 for a DPDK workload: the path names its memif socket; vhostuser://service/v0 for a
// virtio NIC on a vhost-user socket the forwarder serves, a local extension)
// (labels in the query; `endpoint=NAME` in the query asks for one endpoint by name).
import { InvalidArgumentError } from '../api/errors.js';

export interface ServiceRequestSpec {
  mechanism: 'kernel' | 'memif' | 'vhostuser';
  service: string;
  domain?: string;
  ifname: string;
  labels: Record<string, string>;
  endpoint?: string;
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

export function parseServiceUrl(text: string, defaultIfname = 'nsm-1'): ServiceRequestSpec {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError(`"${text}" is not a service URL (want kernel://service/ifname?key=value)`);
  }
  const mechanism = url.protocol.replace(/:$/, '');
  if (mechanism !== 'kernel' && mechanism !== 'memif' && mechanism !== 'vhostuser') throw new InvalidArgumentError(`"${text}": unsupported mechanism "${mechanism}" (want kernel://, memif:// or vhostuser://)`);
  const service = decodeURIComponent(url.hostname || url.username);
  if (!service) throw new InvalidArgumentError(`"${text}": the network service name is missing`);
  const domain = url.username ? url.hostname : undefined;
  const ifname = decodeURIComponent(url.pathname.replace(/^\/+/, '')) || defaultIfname;
  if (!IFNAME.test(ifname)) throw new InvalidArgumentError(`"${text}": interface name "${ifname}" must be 1-15 characters of A-Z a-z 0-9 _ . -`);
  const labels: Record<string, string> = {};
  let endpoint: string | undefined;
  for (const [k, v] of url.searchParams) {
    if (k === 'endpoint') endpoint = v;
    else labels[k] = v;
  }
  return { mechanism, service: domain ? decodeURIComponent(url.username) : service, ...(domain ? { domain } : {}), ifname, labels, ...(endpoint ? { endpoint } : {}) };
}
