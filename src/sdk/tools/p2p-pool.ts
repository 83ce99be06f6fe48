// A pool of point-to-point address pairs over any mix of IPv4 and IPv6 prefixes:
// each lease holds one pair (dst = endpoint side, src = client side) per family
// present in the pool, as host addresses (/32, /128). Leases are kept per
// connection id; an optional LeaseStore makes them survive a restart of the
// endpoint (restored leases stay reserved for their connection until claimed or
// until the grace period ends), so an address is never handed out twice.
import { FailedPreconditionError, InvalidArgumentError } from '../../api/errors.js';
import { contains, hostPrefix, parseAddress, parsePrefix, type Family, type Prefix } from './prefix.js';

export interface Pair {
  family: Family;
  dst: bigint;
  src: bigint;
}

export interface Lease {
  pairs: Pair[];
}

/** Where leases are remembered across restarts (addresses as "addr/len" host prefixes, dst before src per family). */
export interface LeaseStore {
  load(): Record<string, string[]>;
  save(connId: string, addrs: string[]): void;
  remove(connId: string): void;
  /** Lets go of what the store keeps open (an endpoint's stop); a change after it opens it again. */
  close?(): void;
}

/** Host prefixes of a lease: dst of every family, then src of every family. */
export function leaseAddrs(l: Lease): { src: string[]; dst: string[] } {
  return { dst: l.pairs.map((p) => hostPrefix(p.family, p.dst)), src: l.pairs.map((p) => hostPrefix(p.family, p.src)) };
}

export class PointToPointPool {
  /** Addresses in use, per family (BigInt keys compare by value). */
  private readonly used = { 4: new Set<bigint>(), 6: new Set<bigint>() };
  /** Per prefix: every address below it is in use (where a search starts). */
  private readonly low: bigint[];
  private readonly prefixes: Prefix[];
  /** Families in the order they first appear in the pool's prefixes. */
  readonly families: Family[];
  private readonly leases = new Map<string, Lease>();
  /** Restored from the store, not yet claimed by their connection. */
  private readonly reserved = new Set<string>();

  constructor(
    cidrs: string[],
    private readonly store?: LeaseStore,
  ) {
    if (cidrs.length === 0) throw new InvalidArgumentError('ipam: at least one CIDR is required');
    this.prefixes = cidrs.map((c) => parsePrefix(c, 'cidr'));
    this.families = [...new Set(this.prefixes.map((p) => p.family))];
    this.low = this.prefixes.map((p) => p.first);
    if (store) this.restore(store.load());
  }

  private restore(saved: Record<string, string[]>): void {
    for (const [connId, addrs] of Object.entries(saved)) {
      if (addrs.length === 0 || addrs.length % 2 !== 0) continue;
      let parsed: { family: Family; value: bigint }[];
      try {
        parsed = addrs.map((a) => parseAddress(a.split('/')[0]!));
      } catch {
        continue; // a damaged entry: skip it
      }
      const pairs: Pair[] = [];
      const half = parsed.length / 2;
      for (let i = 0; i < half; i++) pairs.push({ family: parsed[i]!.family, dst: parsed[i]!.value, src: parsed[half + i]!.value });
      const lease = { pairs };
      if (pairs.some((p) => this.taken(p.family, p.dst) || this.taken(p.family, p.src))) continue;
      this.mark(lease);
      this.leases.set(connId, lease);
      this.reserved.add(connId);
    }
  }

  private taken(f: Family, a: bigint): boolean {
    return this.used[f].has(a);
  }

  private mark(l: Lease): void {
    for (const p of l.pairs) {
      this.used[p.family].add(p.dst).add(p.src);
    }
    this.prefixes.forEach((c, i) => {
      let a = this.low[i]!;
      while (a <= c.last && this.used[c.family].has(a)) a++;
      this.low[i] = a;
    });
  }

  /** Two free addresses of `family` outside `excluded`, or undefined. */
  private pick(family: Family, excluded: Prefix[]): [bigint, bigint] | undefined {
    const picked: bigint[] = [];
    for (const [i, c] of this.prefixes.entries()) {
      if (c.family !== family) continue;
      for (let a = this.low[i]!; a <= c.last && picked.length < 2; a++) {
        const ex = excluded.find((e) => contains(e, family, a));
        if (ex) {
          a = ex.last; // jump over the excluded range
          continue;
        }
        if (!this.taken(family, a)) picked.push(a);
      }
      if (picked.length === 2) return [picked[0]!, picked[1]!];
    }
    return undefined;
  }

  /** The lease of this connection, if it holds one (claims a restored one). */
  leaseOf(connId: string): Lease | undefined {
    this.reserved.delete(connId);
    return this.leases.get(connId);
  }

  /**
   * A pair per family for `connId`. `wanted` (the addresses a connection already carries, e.g. after a
   * restart of the endpoint without a store) are taken again when they are ours, free and not excluded.
   */
  allocate(connId: string, excluded: Prefix[], wanted: { src: string[]; dst: string[] } = { src: [], dst: [] }): Lease {
    const existing = this.leaseOf(connId);
    if (existing) return existing;
    const pairs: Pair[] = [];
    for (const family of this.families) {
      const again = this.reuse(family, excluded, wanted);
      const got = again ?? this.pick(family, excluded);
      if (!got) {
        const pool = this.prefixes.filter((p) => p.family === family).map((p) => p.text).join(', ');
        throw new FailedPreconditionError(`ipam: no free IPv${family} addresses left in ${pool}`);
      }
      pairs.push({ family, dst: got[0], src: got[1] });
    }
    const lease = { pairs };
    this.mark(lease);
    this.leases.set(connId, lease);
    const a = leaseAddrs(lease);
    this.store?.save(connId, [...a.dst, ...a.src]);
    return lease;
  }

  private reuse(family: Family, excluded: Prefix[], wanted: { src: string[]; dst: string[] }): [bigint, bigint] | undefined {
    const find = (list: string[]) => {
      for (const text of list) {
        const addr = text.split('/')[0]!;
        let p: { family: Family; value: bigint };
        try {
          p = parseAddress(addr);
        } catch {
          continue;
        }
        if (p.family !== family) continue;
        const ours = this.prefixes.some((c) => contains(c, family, p.value));
        const free = !this.taken(family, p.value) && !excluded.some((e) => contains(e, family, p.value));
        return ours && free ? p.value : undefined;
      }
      return undefined;
    };
    const dst = find(wanted.dst);
    const src = find(wanted.src);
    return dst !== undefined && src !== undefined && dst !== src ? [dst, src] : undefined;
  }

  release(connId: string): void {
    const lease = this.leases.get(connId);
    if (!lease) return;
    this.leases.delete(connId);
    this.reserved.delete(connId);
    for (const p of lease.pairs) {
      this.used[p.family].delete(p.dst);
      this.used[p.family].delete(p.src);
      this.prefixes.forEach((c, i) => {
        for (const a of [p.dst, p.src]) if (contains(c, p.family, a) && a < this.low[i]!) this.low[i] = a;
      });
    }
    this.store?.remove(connId);
  }

  /** Releases restored leases that no connection claimed (call after the grace period). */
  releaseUnclaimed(): number {
    const ids = [...this.reserved];
    for (const id of ids) this.release(id);
    return ids.length;
  }

  /** Addresses in use (both ends of every lease). */
  get inUse(): number {
    return this.used[4].size + this.used[6].size;
  }

  /** For messages: the pool as written. */
  describe(): string {
    return this.prefixes.map((p) => p.text).join(', ');
  }
}
