// The client addresses of one vL3 instance: single host addresses from its slice (the
// slice's first two addresses are the network's and the instance's own), one per
// connection id, each with the client's DNS name. A LeaseStore keeps them across
// restarts ([address, name] per connection), so an address is never handed out twice.
import { ResourceExhaustedError } from '../../api/errors.js';
import { contains, hostPrefix, parseAddress, type Prefix } from './prefix.js';
import type { LeaseStore } from './p2p-pool.js';

export interface Vl3Lease {
  /** Host prefix ("169.254.17.2/32"). */
  addr: string;
  /** The client's DNS label (its name), '' for none. */
  name: string;
}

export class Vl3Pool {
  private readonly leases = new Map<string, Vl3Lease>();
  /** Restored from the store and not yet seen alive in this life: reserved, but not answered in DNS. */
  private readonly unconfirmed = new Set<string>();
  private readonly used = new Set<bigint>();
  private next: bigint;

  constructor(
    private readonly slice: Prefix,
    private readonly store?: LeaseStore,
  ) {
    this.next = slice.first + 2n;
    for (const [id, [addr, name]] of Object.entries(store?.load() ?? {})) {
      if (!addr) continue;
      const v = this.inSlice(addr);
      if (v !== undefined && !this.used.has(v)) {
        this.take(id, v, name ?? '', false);
        this.unconfirmed.add(id);
      }
    }
  }

  private inSlice(addr: string): bigint | undefined {
    try {
      const a = parseAddress(addr.split('/')[0]!);
      return contains(this.slice, a.family, a.value) && a.value >= this.slice.first + 2n && a.value < this.slice.last ? a.value : undefined;
    } catch {
      return undefined;
    }
  }

  private take(id: string, v: bigint, name: string, save = true): Vl3Lease {
    const lease = { addr: hostPrefix(this.slice.family, v), name };
    this.used.add(v);
    this.leases.set(id, lease);
    if (save) this.store?.save(id, [lease.addr, name]);
    return lease;
  }

  /** The connection's lease: kept, or `wanted` when it is of this slice and free, or the next free address. */
  allocate(id: string, name: string, wanted?: string): Vl3Lease {
    const had = this.leases.get(id);
    this.unconfirmed.delete(id);
    if (had) {
      if (had.name !== name) {
        had.name = name;
        this.store?.save(id, [had.addr, name]);
      }
      return had;
    }
    const w = wanted ? this.inSlice(wanted) : undefined;
    if (w !== undefined && !this.used.has(w)) return this.take(id, w, name);
    const span = this.slice.last - this.slice.first - 2n;
    for (let i = 0n; i < span; i++) {
      const v = this.slice.first + 2n + ((this.next - this.slice.first - 2n + i) % span);
      if (!this.used.has(v)) {
        this.next = v + 1n;
        return this.take(id, v, name);
      }
    }
    throw new ResourceExhaustedError(`vl3: no free address left in ${this.slice.text}`);
  }

  release(id: string): void {
    const l = this.leases.get(id);
    if (!l) return;
    this.leases.delete(id);
    this.unconfirmed.delete(id);
    this.used.delete(parseAddress(l.addr.split('/')[0]!).value);
    this.store?.remove(id);
  }

  leaseOf(id: string): Vl3Lease | undefined {
    return this.leases.get(id);
  }

  /** Restored leases not confirmed yet (connection id -> lease). */
  restored(): [string, Vl3Lease][] {
    return [...this.unconfirmed].map((id) => [id, this.leases.get(id)!]);
  }

  /** A restored lease whose client was seen alive (answers through this instance): answered in DNS again. */
  confirm(id: string): void {
    this.unconfirmed.delete(id);
  }

  /** name -> addresses (without prefix length) of every confirmed lease with a name. */
  records(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [id, l] of this.leases) if (l.name && !this.unconfirmed.has(id)) out.set(l.name, [...(out.get(l.name) ?? []), l.addr.split('/')[0]!]);
    return out;
  }

  get size(): number {
    return this.leases.size;
  }
}
