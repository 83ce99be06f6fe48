import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection, NetworkServiceRequest } from '../../../src/api/index.js';
import { begin } from '../../../src/sdk/core/begin.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { Status } from '../../../src/api/errors.js';
import { PointToPointPool, pointToPointIpam } from '../../../src/sdk/networkservice/ipam.js';
import { formatIp4, parseCidr4 } from '../../../src/sdk/tools/ip4.js';
import { hasCode, recorder } from './helpers.js';

const req = (id: string, excluded: string[] = []) =>
  NetworkServiceRequest.fromPartial({ connection: { id, context: { ipContext: { excludedPrefixes: excluded } } } });

function setup(cidrs: string[], failFor?: Set<string>) {
  const rec = recorder({
    onRequest(r) {
      if (failFor?.has(r.connection!.id)) throw new Error('downstream failed');
    },
  });
  const ipam = pointToPointIpam(cidrs);
  return { rec, ipam, handler: chain(begin(), ipam, rec) };
}

describe('PointToPointPool', () => {
  it('hands out dst then src, skipping used and excluded addresses, and releases', () => {
    const pool = new PointToPointPool(['10.0.0.0/30']);
    const a = pool.allocate([]);
    assert.deepEqual([formatIp4(a.dst), formatIp4(a.src)], ['10.0.0.0', '10.0.0.1']);
    const b = pool.allocate([]);
    assert.deepEqual([formatIp4(b.dst), formatIp4(b.src)], ['10.0.0.2', '10.0.0.3']);
    assert.equal(pool.inUse, 4);
    assert.throws(() => pool.allocate([]), hasCode(Status.FAILED_PRECONDITION, /no free addresses/));
    pool.release(a);
    assert.equal(pool.inUse, 2);
    // Only 10.0.0.1 is free outside the excluded 10.0.0.0: not enough for a pair, and nothing is taken.
    assert.throws(() => pool.allocate([parseCidr4('10.0.0.0/32')]), hasCode(Status.FAILED_PRECONDITION));
    assert.equal(pool.inUse, 2);
    const c = pool.allocate([]);
    assert.deepEqual([formatIp4(c.dst), formatIp4(c.src)], ['10.0.0.0', '10.0.0.1']);
  });

  it('spans several CIDRs', () => {
    const pool = new PointToPointPool(['10.0.0.5/32', '10.9.0.0/31']);
    const a = pool.allocate([]);
    assert.deepEqual([formatIp4(a.dst), formatIp4(a.src)], ['10.0.0.5', '10.9.0.0']);
  });

  it('needs at least one CIDR', () => {
    assert.throws(() => new PointToPointPool([]), hasCode(Status.INVALID_ARGUMENT));
    assert.throws(() => new PointToPointPool(['nope']), hasCode(Status.INVALID_ARGUMENT));
  });
});

describe('ipam element', () => {
  it('gives each connection a /32 pair and routes to the other end', async () => {
    const { rec, handler } = setup(['172.16.0.0/24']);
    const a = await handler.request(req('a'), newCtx());
    const ip = a.context!.ipContext!;
    assert.deepEqual(ip.dstIpAddrs, ['172.16.0.0/32']);
    assert.deepEqual(ip.srcIpAddrs, ['172.16.0.1/32']);
    assert.deepEqual(ip.srcRoutes.map((r) => r.prefix), ['172.16.0.0/32']);
    assert.deepEqual(ip.dstRoutes.map((r) => r.prefix), ['172.16.0.1/32']);
    assert.deepEqual(rec.requests[0]!.conn.context!.ipContext!.srcIpAddrs, ['172.16.0.1/32'], 'set before the next element');
    const b = await handler.request(req('b'), newCtx());
    const all = [...ip.srcIpAddrs, ...ip.dstIpAddrs, ...b.context!.ipContext!.srcIpAddrs, ...b.context!.ipContext!.dstIpAddrs];
    assert.equal(new Set(all).size, 4, `distinct per connection: ${all.join(' ')}`);
  });

  it('a connection without a context gets one', async () => {
    const { handler } = setup(['172.16.0.0/24']);
    const out = await handler.request(NetworkServiceRequest.fromPartial({ connection: { id: 'bare' } }), newCtx());
    assert.deepEqual(out.context!.ipContext!.srcIpAddrs, ['172.16.0.1/32']);
  });

  it('keeps the addresses across refreshes (even if the caller cleared them)', async () => {
    const { ipam, handler } = setup(['172.16.0.0/24']);
    const first = await handler.request(req('a'), newCtx());
    const again = Connection.fromPartial(first);
    again.context!.ipContext!.srcIpAddrs = [];
    const second = await handler.request(NetworkServiceRequest.fromPartial({ connection: again }), newCtx());
    assert.deepEqual(second.context!.ipContext!.srcIpAddrs, first.context!.ipContext!.srcIpAddrs);
    assert.deepEqual(second.context!.ipContext!.dstIpAddrs, first.context!.ipContext!.dstIpAddrs);
    assert.equal(ipam.pool.inUse, 2);
  });

  it('skips excluded prefixes (IPv6 ones are ignored)', async () => {
    const { handler } = setup(['10.0.0.0/24']);
    const out = await handler.request(req('x', ['10.0.0.0/30', 'fd00::/8', '10.0.0.5/32']), newCtx());
    assert.deepEqual(out.context!.ipContext!.dstIpAddrs, ['10.0.0.4/32']);
    assert.deepEqual(out.context!.ipContext!.srcIpAddrs, ['10.0.0.6/32']);
  });

  it('releases on close', async () => {
    const { ipam, handler } = setup(['10.0.0.0/31']);
    const a = await handler.request(req('a'), newCtx());
    assert.equal(ipam.pool.inUse, 2);
    await assert.rejects(handler.request(req('b'), newCtx()), hasCode(Status.FAILED_PRECONDITION));
    await handler.close(a, newCtx());
    assert.equal(ipam.pool.inUse, 0);
    const b = await handler.request(req('b'), newCtx());
    assert.deepEqual(b.context!.ipContext!.dstIpAddrs, ['10.0.0.0/32']);
  });

  it('releases when the downstream fails on the first request, keeps the lease when a refresh fails', async () => {
    const failing = new Set(['bad']);
    const { ipam, handler } = setup(['10.0.0.0/31'], failing);
    await assert.rejects(handler.request(req('bad'), newCtx()), /downstream failed/);
    assert.equal(ipam.pool.inUse, 0);
    const ok = await handler.request(req('ok'), newCtx());
    failing.add('ok');
    await assert.rejects(handler.request(NetworkServiceRequest.fromPartial({ connection: ok }), newCtx()), /downstream failed/);
    assert.equal(ipam.pool.inUse, 2, 'an established connection keeps its addresses');
    await handler.close(ok, newCtx());
    assert.equal(ipam.pool.inUse, 0);
  });

  it('exhaustion is FAILED_PRECONDITION and nothing goes downstream', async () => {
    const { rec, handler } = setup(['10.0.0.0/32']);
    await assert.rejects(handler.request(req('a'), newCtx()), hasCode(Status.FAILED_PRECONDITION, /10\.0\.0\.0\/32/));
    assert.equal(rec.requests.length, 0);
  });
});
