// vl3-ipam (vL3 endpoint side): addresses and routes of a vL3 instance's connections.
// A client gets one address of the instance's slice, a route to the whole vL3 prefix via
// the instance's own address, and the instance as its DNS server (dns_context, search
// domain = the service). A mesh connection from another instance (labels nsm.vl3.*) keeps
// the caller's own address and gets routes between the two slices; a mesh request meant
// for another instance is refused (so a reselecting heal lands on the right one).
import { ConnectionContext, DNSContext, IPContext, Route } from '../../api/index.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { FailedPreconditionError, InvalidArgumentError } from '../../api/errors.js';
import { parsePrefix } from '../tools/prefix.js';
import type { Vl3Pool } from '../tools/vl3-pool.js';
import type { Vl3Slice } from '../tools/vl3-slices.js';

/** Labels of a mesh request between vL3 instances. */
export const VL3_LABELS = { to: 'nsm.vl3.to', addr: 'nsm.vl3.addr', slice: 'nsm.vl3.slice' } as const;

export interface Vl3IpamOptions {
  /** This instance's name (mesh requests name the instance they are for). */
  name: string;
  /** The whole vL3 prefix (clients route it via this instance). */
  vl3Cidr: string;
  slice: Vl3Slice;
  pool: Vl3Pool;
  /** Called after a client lease is taken or released (the DNS records changed). */
  onChange?: () => void;
}

/** A DNS label from a client name: lowercase letters, digits and '-'. */
export function dnsLabel(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
}

export function vl3Ipam(opts: Vl3IpamOptions): NetworkServiceElement {
  const own = opts.slice.own;
  const ownIp = opts.slice.ownIp;
  return element({
    async request(req, ctx, next) {
      const conn = req.connection!;
      conn.context ??= ConnectionContext.create();
      const ipc = (conn.context.ipContext ??= IPContext.create());
      const to = conn.labels[VL3_LABELS.to];
      if (to !== undefined) {
        if (to !== opts.name) throw new FailedPreconditionError(`vl3: mesh request for instance "${to}" reached "${opts.name}"`);
        const addr = conn.labels[VL3_LABELS.addr] ?? '';
        const slice = conn.labels[VL3_LABELS.slice] ?? '';
        try {
          parsePrefix(addr, `labels.${VL3_LABELS.addr}`);
          parsePrefix(slice, `labels.${VL3_LABELS.slice}`);
        } catch (err) {
          throw new InvalidArgumentError((err as Error).message);
        }
        const peerIp = addr.split('/')[0]!;
        ipc.srcIpAddrs = [addr];
        ipc.dstIpAddrs = [own];
        ipc.srcRoutes = [Route.fromPartial({ prefix: own }), Route.fromPartial({ prefix: opts.slice.cidr, nextHop: ownIp })];
        ipc.dstRoutes = [Route.fromPartial({ prefix: addr }), Route.fromPartial({ prefix: slice, nextHop: peerIp })];
        return next.request(req, ctx);
      }
      const fresh = !opts.pool.leaseOf(conn.id);
      const client = dnsLabel(conn.path?.pathSegments[0]?.name ?? '');
      const lease = opts.pool.allocate(conn.id, client, ipc.srcIpAddrs[0]);
      ipc.srcIpAddrs = [lease.addr];
      ipc.dstIpAddrs = [own];
      ipc.srcRoutes = [Route.fromPartial({ prefix: own }), Route.fromPartial({ prefix: opts.vl3Cidr, nextHop: ownIp })];
      ipc.dstRoutes = [Route.fromPartial({ prefix: lease.addr })];
      conn.context.dnsContext = DNSContext.fromPartial({ configs: [{ dnsServerIps: [ownIp], searchDomains: [dnsLabel(conn.networkService)] }] });
      if (fresh) opts.onChange?.();
      try {
        return await next.request(req, ctx);
      } catch (err) {
        if (fresh) {
          opts.pool.release(conn.id);
          opts.onChange?.();
        }
        throw err;
      }
    },
    async close(conn, ctx, next) {
      try {
        await next.close(conn, ctx);
      } finally {
        if (opts.pool.leaseOf(conn.id)) {
          opts.pool.release(conn.id);
          opts.onChange?.();
        }
      }
    },
  });
}
