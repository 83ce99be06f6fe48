// refuse-early (nsmgr): the head of the nsmgr's chain. Refuses a Request at once, before any token or
// registry work, when it cannot succeed now: no forwarder of this node is available (none registered, or
// the one registered died: UNAVAILABLE naming it), or a Request from a local client while every forwarder's
// admission queue is full (RESOURCE_EXHAUSTED). A storm of heal retries then costs the node little while
// its forwarder restarts. Close always passes.
import { ResourceExhaustedError, UnavailableError } from '../../api/errors.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import type { ForwarderDirectory } from '../tools/directory.js';
import type { ForwarderAdmission } from './admit-forwarder.js';

export function refuseEarly(nsmgr: string, directory: ForwarderDirectory, admission?: ForwarderAdmission): NetworkServiceElement {
  return element({
    async request(req, ctx, next) {
      const fwds = directory.forwarders();
      if (fwds.length === 0) {
        const lost = directory.lost?.() ?? [];
        throw new UnavailableError(
          lost.length > 0
            ? `no forwarder available on this node (nsmgr ${nsmgr}): ${lost.map((f) => `${f.name} is gone (${f.reason})`).join('; ')}; retry once it registers again`
            : `no forwarder registered with nsmgr ${nsmgr}: retry once one registers`,
        );
      }
      // From a local client (its own segment is the last one so far): another node's Request has a turn already.
      if (admission && (req.connection?.path?.index ?? 0) === 0 && fwds.every((f) => admission.full(f.url))) {
        throw new ResourceExhaustedError(`nsmgr ${nsmgr}: every forwarder of this node is busy (admission queues full): retry later`);
      }
      return next.request(req, ctx);
    },
  });
}
