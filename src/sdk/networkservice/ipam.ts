// ipam (endpoint side): hands out point-to-point IPv4 addresses from the
// endpoint's CIDRs: dst (the endpoint's end) and src (the client's end), each /32,
// plus a route to the other end; never an address inside the request's excluded
// prefixes; the same connection keeps its addresses across refreshes.
import { IPContext, ConnectionContext, Route } from '../../api/index.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { FailedPreconditionError, InvalidArgumentError } from '../../api/errors.js';
import { parseCidr4, formatIp4, type Cidr4 } from '../tools/ip4.js';
import { createContextKey } from '../core/ctx.js';

/** Per connection: the addresses leased to it. */
const LEASE = createContextKey<Lease>('ipam.lease');

interface Lease {
  src: number;
  dst: number;
}

export class PointToPointPool {
  private readonly used = new Set<number>();
  private readonly cidrs: Cidr4[];

  constructor(cidrs: string[]) {
    if (cidrs.length === 0) throw new InvalidArgumentError('ipam: at least one CIDR is required');
    this.cidrs = cidrs.map(parseCidr4);
  }

  /** Takes two free addresses outside `excluded`. */
  allocate(excluded: Cidr4[]): Lease {
    const picked: number[] = [];
    for (const c of this.cidrs) {
      for (let a = c.first; a <= c.last && picked.length < 2; a++) {
        if (this.used.has(a) || excluded.some((e) => a >= e.first && a <= e.last)) continue;
        picked.push(a);
      }
      if (picked.length === 2) break;
    }
    if (picked.length < 2) throw new FailedPreconditionError(`ipam: no free addresses left in ${this.cidrs.map((c) => c.text).join(', ')}`);
    for (const a of picked) this.used.add(a);
    return { dst: picked[0]!, src: picked[1]! };
  }

  release(lease: Lease): void {
    this.used.delete(lease.src);
    this.used.delete(lease.dst);
  }

  get inUse(): number {
    return this.used.size;
  }
}

export function pointToPointIpam(cidrs: string[]): NetworkServiceElement & { pool: PointToPointPool } {
  const pool = new PointToPointPool(cidrs);
  return {
    pool,
    ...element({
      async request(req, ctx, next) {
        const conn = req.connection!;
        conn.context ??= ConnectionContext.create();
        const ipc = (conn.context.ipContext ??= IPContext.create());
        let lease = ctx.metadata.get(LEASE);
        const fresh = !lease;
        if (!lease) {
          const excluded = ipc.excludedPrefixes.filter((p) => !p.includes(':')).map(parseCidr4);
          lease = pool.allocate(excluded);
          ctx.metadata.set(LEASE, lease);
        }
        const src = `${formatIp4(lease.src)}/32`;
        const dst = `${formatIp4(lease.dst)}/32`;
        ipc.srcIpAddrs = [src];
        ipc.dstIpAddrs = [dst];
        ipc.srcRoutes = [Route.fromPartial({ prefix: dst })];
        ipc.dstRoutes = [Route.fromPartial({ prefix: src })];
        try {
          return await next.request(req, ctx);
        } catch (err) {
          if (fresh) {
            pool.release(lease);
            ctx.metadata.delete(LEASE);
          }
          throw err;
        }
      },
      async close(conn, ctx, next) {
        const lease = ctx.metadata.get(LEASE);
        try {
          await next.close(conn, ctx);
        } finally {
          if (lease) pool.release(lease);
          ctx.metadata.delete(LEASE);
        }
      },
    }),
  };
}
