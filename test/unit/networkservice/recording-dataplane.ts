// Shared by the early veth/tunnel element tests: the bookkeeping of a fake kernel (every call logged, a failure
// on demand, addresses and routes recorded) and a distinct IP context per connection number.

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
