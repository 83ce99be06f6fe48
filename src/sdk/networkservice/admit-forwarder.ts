// admit-forwarder (nsmgr): lets at most a few Requests from this node's clients through to one forwarder at
// a time and queues a few more (tools/admission); the rest are refused at once (RESOURCE_EXHAUSTED) so the
// clients back off. After a forwarder restart 1,000 heals then reach it at the rate it can serve instead of
// burying it (and time out while it works on them). Requests that come from another node or from a
// passthrough's onward leg already hold a turn where they started, so only index-1 Requests (from a local
// client) wait: a turn is never held while waiting for another. Sits between select-forwarder and connect.
import { element, type NetworkServiceElement } from '../core/chain.js';
import { Admission, type AdmissionOptions } from '../tools/admission.js';
import { nextUrlOf } from '../tools/next-url.js';

export type ForwarderAdmissionOptions = Omit<AdmissionOptions, 'what'>;

export interface ForwarderAdmission {
  /** The forwarder at `url` has no room left: a Request to it would be refused at once. */
  full(url: string): boolean;
}

export function admitForwarder(opts: ForwarderAdmissionOptions = {}): NetworkServiceElement & ForwarderAdmission {
  const gates = new Map<string, Admission>();
  const gate = (url: string) => {
    let g = gates.get(url);
    // A waiter usually leaves when its caller gives up (its signal); the wait bound (default 15 s, NSM's
    // request timeout) only ends waits nobody cancels.
    if (!g) gates.set(url, (g = new Admission({ maxWaitMs: 15_000, ...opts, what: `forwarder ${url}` })));
    return g;
  };
  const el = element({
    async request(req, ctx, next) {
      const url = nextUrlOf(ctx);
      const fromClient = req.connection?.path?.index === 1;
      if (!url || !fromClient) return next.request(req, ctx);
      const release = await gate(url).enter(ctx.signal);
      try {
        return await next.request(req, ctx);
      } finally {
        release();
      }
    },
  });
  return Object.assign(el, { full: (url: string) => gates.get(url)?.full ?? false });
}
