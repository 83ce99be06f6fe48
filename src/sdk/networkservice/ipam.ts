// ipam (endpoint side): hands out point-to-point addresses from the endpoint's
// prefixes, IPv4 and IPv6 alike: per family present in the pool a dst (the
// endpoint's end) and a src (the client's end) host address (/32, /128), plus a
// host route to the other end per family; never an address inside the request's
// excluded prefixes (both families). The same connection keeps its addresses across
// refreshes; Close releases them. A connection that already carries addresses of
// this pool (a restarted endpoint) gets them again when they are free.
import { IPContext, ConnectionContext, Route } from '../../api/index.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { InvalidArgumentError } from '../../api/errors.js';
import { parsePrefix } from '../tools/prefix.js';
import { leaseAddrs, PointToPointPool, type LeaseStore } from '../tools/p2p-pool.js';

export { PointToPointPool };

export function pointToPointIpam(cidrs: string[], opts: { store?: LeaseStore } = {}): NetworkServiceElement & { pool: PointToPointPool } {
  const pool = new PointToPointPool(cidrs, opts.store);
  return {
    pool,
    ...element({
      async request(req, ctx, next) {
        const conn = req.connection!;
        conn.context ??= ConnectionContext.create();
        const ipc = (conn.context.ipContext ??= IPContext.create());
        const fresh = !pool.leaseOf(conn.id);
        const excluded = ipc.excludedPrefixes.map((p, i) => {
          try {
            return parsePrefix(p, `excluded_prefixes[${i}]`);
          } catch (err) {
            throw new InvalidArgumentError((err as Error).message);
          }
        });
        const lease = pool.allocate(conn.id, excluded, { src: ipc.srcIpAddrs, dst: ipc.dstIpAddrs });
        const { src, dst } = leaseAddrs(lease);
        ipc.srcIpAddrs = src;
        ipc.dstIpAddrs = dst;
        ipc.srcRoutes = dst.map((prefix) => Route.fromPartial({ prefix }));
        ipc.dstRoutes = src.map((prefix) => Route.fromPartial({ prefix }));
        try {
          return await next.request(req, ctx);
        } catch (err) {
          if (fresh) pool.release(conn.id);
          throw err;
        }
      },
      async close(conn, ctx, next) {
        try {
          await next.close(conn, ctx);
        } finally {
          pool.release(conn.id);
        }
      },
    }),
  };
}
