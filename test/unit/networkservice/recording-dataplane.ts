// Shared by the early veth/tunnel element tests: the bookkeeping of a fake kernel (every call logged, a failure
// on demand, addresses and routes recorded), a distinct IP context per connection number and a fake local
// endpoint whose next answer each test sets.
import type { Mechanism, NetworkServiceRequest } from '../../../src/api/index.js';
import { recorder } from './helpers.js';

/** The base of a fake ForwarderDataplane: subclasses add the links they keep. */
export abstract class RecordingDataplane {
  readonly calls: [string, ...unknown[]][] = [];
  /** Makes a call of this name fail with the error returned. */
  fail?: (method: string) => Error | undefined;
  protected log(method: string, ...args: unknown[]) {
    this.calls.push([method, ...args]);
    const err = this.fail?.(method);
    if (err) throw err;
  }
  async addAddress(netns: string, ifname: string, cidr: string) {
    this.log('addAddress', netns, ifname, cidr);
  }
  async addRoute(netns: string, route: { prefix: string; dev: string }) {
    this.log('addRoute', netns, route);
  }
  /** The arguments of every call of `method`, in order. */
  named(method: string) {
    return this.calls.filter((c) => c[0] === method).map((c) => c.slice(1));
  }
  reset() {
    this.calls.length = 0;
  }
}

/** Connection number `n`'s IP context: 169.254.n.1 (client) <-> 169.254.n.0 (endpoint), device routes. */
export const numberedIpContext = (n: number) => ({
  srcIpAddrs: [`169.254.${n}.1/32`],
  dstIpAddrs: [`169.254.${n}.0/32`],
  srcRoutes: [{ prefix: `169.254.${n}.0/32`, nextHop: '' }],
  dstRoutes: [{ prefix: `169.254.${n}.1/32`, nextHop: '' }],
  srcIpRequired: false,
  dstIpRequired: false,
  excludedPrefixes: [],
  ipNeighbors: [],
  extraPrefixRequest: [],
  extraPrefixes: [],
});

/** How the fake local endpoint answers from now on. */
export interface EndpointBehaviour {
  netns?: string;
  mtu?: number;
  fail?: Error;
  /** Called (once) while its Request is pending: a passthrough requesting onward through the same forwarder. */
  onward?: () => Promise<unknown>;
}

/**
 * A fake local endpoint as the forwarder's next hop: it answers a turn after the Request arrived (so what is
 * made ahead of the answer runs first, as with a real hop), notes how many links the fake kernel held then,
 * and answers with the mechanism `answer` builds, a numbered IP context and the MTU asked for (or the behaviour's),
 * or fails as the behaviour set by `endpoint` says.
 */
export function fakeLocalEndpoint<B extends EndpointBehaviour>(links: { readonly size: number }, answer: (req: NetworkServiceRequest, b: B) => Mechanism) {
  const seen = { linksWhenAsked: -1 };
  let behave = {} as B;
  let n = 0;
  const rec = recorder({
    async onRequest(req) {
      await new Promise((r) => setImmediate(r));
      seen.linksWhenAsked = links.size;
      const onward = behave.onward;
      if (onward) {
        behave = { ...behave, onward: undefined };
        await onward();
      }
      if (behave.fail) throw behave.fail;
      const conn = req.connection!;
      conn.mechanism = answer(req, behave);
      conn.context = { ipContext: numberedIpContext(++n), dnsContext: undefined, ethernetContext: undefined, extraContext: {}, MTU: behave.mtu ?? conn.context?.MTU ?? 0 };
    },
  });
  return {
    rec,
    seen,
    endpoint: (b: B) => {
      behave = b;
    },
  };
}
