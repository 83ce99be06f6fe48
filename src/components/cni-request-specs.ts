// The service URLs of an nsm-cni config as mesh requests, each with its interface name (parsed in the
// daemon through its connector, so the plugin process stays light).
import type { CniRequestSpec } from '../platforms/cni/config.js';
import { CniCode, CniError } from '../platforms/cni/errors.js';
import { parseServiceUrl } from './service-url.js';

/**
 * The requests with their interface names: a URL's own interface name wins; a URL without one gets
 * CNI_IFNAME (the first such) or CNI_IFNAME-N. Names must be distinct.
 */
export function requestSpecs(urls: string[], cniIfname: string): CniRequestSpec[] {
  let unnamed = 0;
  const out = urls.map((url): CniRequestSpec => {
    const hasIfname = /^[a-z]+:\/\/[^/?#]+\/[^/?#]+/i.test(url);
    const fallback = hasIfname ? 'unused' : unnamed++ === 0 ? cniIfname : `${cniIfname.slice(0, 12)}-${unnamed}`;
    try {
      const spec = parseServiceUrl(url, fallback);
      return { url, service: spec.service, ifname: spec.ifname, labels: spec.labels, ...(spec.endpoint ? { endpoint: spec.endpoint } : {}) };
    } catch (err) {
      throw new CniError(CniCode.InvalidConfig, `network configuration: requests: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  const seen = new Set<string>();
  for (const r of out) {
    if (seen.has(r.ifname)) throw new CniError(CniCode.InvalidConfig, `network configuration: two requests use interface "${r.ifname}"; give each URL its own (kernel://svc/IFNAME)`);
    seen.add(r.ifname);
  }
  return out;
}
