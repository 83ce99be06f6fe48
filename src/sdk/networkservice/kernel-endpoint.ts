// kernel-endpoint (endpoint side): accepts the LOCAL/KERNEL mechanism offered by
// the forwarder and tells it where to put the interface: this endpoint's network
// namespace (inodeURL) and the interface name.
import { element, type NetworkServiceElement } from '../core/chain.js';
import { InvalidArgumentError } from '../../api/errors.js';
import { describeMechanisms, isKernel, kernelMechanism, P } from '../tools/mechanisms.js';

export function kernelEndpoint(opts: { netnsUrl: string; ifnamePrefix?: string }): NetworkServiceElement {
  return element({
    async request(req, ctx, next) {
      const conn = req.connection!;
      const offered = req.mechanismPreferences.find(isKernel) ?? (isKernel(conn.mechanism) ? conn.mechanism : undefined);
      if (!offered) {
        throw new InvalidArgumentError(`endpoint supports LOCAL/KERNEL only; offered: ${describeMechanisms(req.mechanismPreferences)}`);
      }
      const name = offered.parameters[P.name] || `${opts.ifnamePrefix ?? 'nse'}-${conn.id.replace(/-/g, '').slice(0, 8)}`;
      conn.mechanism = kernelMechanism({ ...offered.parameters, [P.name]: name, [P.inodeURL]: opts.netnsUrl });
      return next.request(req, ctx);
    },
  });
}
