import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Connection, NetworkServiceRequest } from '../../../src/api/index.js';
import { begin } from '../../../src/sdk/core/begin.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { Status } from '../../../src/api/errors.js';
import { PointToPointPool, pointToPointIpam } from '../../../src/sdk/networkservice/ipam.js';
import { leaseAddrs, type LeaseStore } from '../../../src/sdk/tools/p2p-pool.js';
import { leaseFile } from '../../../src/sdk/tools/lease-file.js';
import { parsePrefix } from '../../../src/sdk/tools/prefix.js';
import { hasCode, recorder } from './helpers.js';

const req = (id: string, excluded: string[] = []) =>
  NetworkServiceRequest.fromPartial({ connection: { id, context: { ipContext: { excludedPrefixes: excluded } } } });

function setup(cidrs: string[], failFor?: Set<string>, store?: LeaseStore) {
  const rec = recorder({
    onRequest(r) {
      if (failFor?.has(r.connection!.id)) throw new Error('downstream failed');
    },
  });
  const ipam = pointToPointIpam(cidrs, store ? { store } : {});
  return { rec, ipam, handler: chain(begin(), ipam, rec) };
}

const addrs = (p: PointToPointPool, id: string, excluded: string[] = []) => leaseAddrs(p.allocate(id, excluded.map((e) => parsePrefix(e))));

function memoryStore(init: Record<string, string[]> = {}): LeaseStore & { data: Record<string, string[]> } {
  const data = { ...init };
  return {
    data,
    load: () => ({ ...data }),
    save: (id, a) => void (data[id] = a),
    remove: (id) => void delete data[id],
  };
}

describe('PointToPointPool', () => {
  it('hands out dst then src, skipping used and excluded addresses, and releases', () => {
    const pool = new PointToPointPool(['169.254.0.0/30']);
    assert.deepEqual(addrs(pool, 'a'), { dst: ['169.254.0.0/32'], src: ['169.254.0.1/32'] });
    assert.deepEqual(addrs(pool, 'b'), { dst: ['169.254.0.2/32'], src: ['169.254.0.3/32'] });
    assert.equal(pool.inUse, 4);
    assert.throws(() => pool.allocate('c', []), hasCode(Status.FAILED_PRECONDITION, /no free IPv4 addresses/));
    pool.release('a');
    assert.equal(pool.inUse, 2);
    // Only .1 is free outside the excluded .0: not enough for a pair, and nothing is taken.
    assert.throws(() => pool.allocate('c', [parsePrefix('169.254.0.0/32')]), hasCode(Status.FAILED_PRECONDITION));
    assert.equal(pool.inUse, 2);
    assert.deepEqual(addrs(pool, 'c'), { dst: ['169.254.0.0/32'], src: ['169.254.0.1/32'] });
  });

  it('the same connection id keeps its lease', () => {
    const pool = new PointToPointPool(['169.254.0.0/30']);
    assert.deepEqual(addrs(pool, 'a'), addrs(pool, 'a'));
    assert.equal(pool.inUse, 2);
  });

  it('spans several CIDRs of a family', () => {
    const pool = new PointToPointPool(['169.254.0.5/32', '169.254.9.0/31']);
    assert.deepEqual(addrs(pool, 'a'), { dst: ['169.254.0.5/32'], src: ['169.254.9.0/32'] });
  });

  it('IPv6: /128 pairs, excluded ranges skipped in one jump', () => {
    const pool = new PointToPointPool(['2001:db8:1::/64']);
    assert.deepEqual(addrs(pool, 'a'), { dst: ['2001:db8:1::/128'], src: ['2001:db8:1::1/128'] });
    // The first /65 is excluded: 2^63 addresses are skipped at once.
    assert.deepEqual(addrs(pool, 'b', ['2001:db8:1::/65', '2001:db8:1:0:8000::1/128']), {
      dst: ['2001:db8:1:0:8000::/128'],
      src: ['2001:db8:1:0:8000::2/128'],
    });
    assert.deepEqual(addrs(pool, 'c'), { dst: ['2001:db8:1::2/128'], src: ['2001:db8:1::3/128'] });
  });

  it('dual stack: one pair per family, in the order the families first appear', () => {
    const pool = new PointToPointPool(['2001:db8:1::/126', '169.254.1.0/30', '169.254.2.0/31']);
    assert.deepEqual(pool.families, [6, 4]);
    assert.deepEqual(addrs(pool, 'a', ['169.254.1.0/31', '2001:db8:1::1']), {
      dst: ['2001:db8:1::/128', '169.254.1.2/32'],
      src: ['2001:db8:1::2/128', '169.254.1.3/32'],
    });
    assert.deepEqual(addrs(pool, 'b'), { dst: ['2001:db8:1::1/128', '169.254.1.0/32'], src: ['2001:db8:1::3/128', '169.254.1.1/32'] });
    // IPv6 is used up: the whole lease fails and IPv4 addresses stay free.
    assert.throws(() => pool.allocate('c', []), hasCode(Status.FAILED_PRECONDITION, /IPv6.*2001:db8:1::\/126/));
    assert.equal(pool.inUse, 8);
    pool.release('a');
    pool.release('b');
    assert.equal(pool.inUse, 0);
  });

  it('takes back the addresses a connection already carries when they are ours and free', () => {
    const pool = new PointToPointPool(['169.254.0.0/24', '2001:db8::/64']);
    const wanted = { dst: ['169.254.0.7/32', '2001:db8::9/128'], src: ['169.254.0.8/32', '2001:db8::a/128'] };
    assert.deepEqual(leaseAddrs(pool.allocate('a', [], wanted)), wanted);
    // Taken (by a), foreign or excluded addresses are not reused.
    assert.deepEqual(leaseAddrs(pool.allocate('b', [], wanted)).dst, ['169.254.0.0/32', '2001:db8::/128']);
    const foreign = { dst: ['198.18.0.1/32'], src: ['198.18.0.2/32'] };
    assert.deepEqual(leaseAddrs(pool.allocate('c', [], foreign)).dst, ['169.254.0.2/32', '2001:db8::2/128']);
    const ex = [parsePrefix('169.254.0.20/30')];
    assert.deepEqual(leaseAddrs(pool.allocate('d', ex, { dst: ['169.254.0.20/32'], src: ['169.254.0.21/32'] })).dst[0], '169.254.0.4/32');
  });

  it('a store keeps leases across a restart: reserved for their connection until claimed or released', () => {
    const store = memoryStore();
    const before = new PointToPointPool(['169.254.0.0/29', '2001:db8::/126'], store);
    const a = addrs(before, 'a');
    addrs(before, 'b');
    before.release('b');
    assert.deepEqual(Object.keys(store.data), ['a']);
    // "Restart": a new pool over the same store.
    const after = new PointToPointPool(['169.254.0.0/29', '2001:db8::/126'], store);
    assert.equal(after.inUse, 4);
    assert.deepEqual(addrs(after, 'new'), { dst: ['169.254.0.2/32', '2001:db8::2/128'], src: ['169.254.0.3/32', '2001:db8::3/128'] }, 'never a restored address');
    assert.deepEqual(addrs(after, 'a'), a, 'the connection gets its own addresses back');
    const third = new PointToPointPool(['169.254.0.0/29', '2001:db8::/126'], memoryStore({ gone: ['169.254.0.0/32', '169.254.0.1/32'] }));
    assert.equal(third.inUse, 2);
    assert.equal(third.releaseUnclaimed(), 1);
    assert.equal(third.inUse, 0);
  });

  it('needs at least one valid CIDR', () => {
    assert.throws(() => new PointToPointPool([]), hasCode(Status.INVALID_ARGUMENT));
    assert.throws(() => new PointToPointPool(['nope']), hasCode(Status.INVALID_ARGUMENT));
    assert.throws(() => new PointToPointPool(['2001:db8::/129']), hasCode(Status.INVALID_ARGUMENT));
  });
});

describe('lease file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-leases-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips leases, skips damaged lines, compacts when loaded', () => {
    const file = join(dir, 'nse.leases.json');
    const s = leaseFile(file);
    assert.deepEqual(s.load(), {});
    s.save('a', ['2001:db8::/128', '2001:db8::1/128']);
    s.save('b', ['169.254.0.2/32', '169.254.0.3/32']);
    s.remove('b');
    appendFileSync(file, '{"id":"c","addrs":["169.254.0.4/32"]}\n{"id":"d","addrs":["169.2');
    assert.equal(readFileSync(file, 'utf8').split('\n').length, 5, 'one appended line per change (3), then ours (2)');
    assert.deepEqual(leaseFile(file).load(), { a: ['2001:db8::/128', '2001:db8::1/128'] });
    assert.equal(readFileSync(file, 'utf8'), '{"id":"a","addrs":["2001:db8::/128","2001:db8::1/128"]}\n', 'compacted');
    const pool = new PointToPointPool(['2001:db8::/64'], memoryStore({ bad: ['x', 'y'], odd: ['2001:db8::5/128'] }));
    assert.equal(pool.inUse, 0);
  });

  it('after its own compaction it writes to the compacted file (not to the one the rename replaced)', () => {
    const file = join(dir, 'again.leases.json');
    const s = leaseFile(file);
    s.save('a', ['169.254.0.0/32', '169.254.0.1/32']);
    assert.deepEqual(s.load(), { a: ['169.254.0.0/32', '169.254.0.1/32'] });
    s.save('b', ['169.254.0.2/32', '169.254.0.3/32']);
    s.remove('a');
    assert.deepEqual(leaseFile(file).load(), { b: ['169.254.0.2/32', '169.254.0.3/32'] });
  });

  it('close lets go of the open file; a change after it opens it again', () => {
    const file = join(dir, 'closed.leases.json');
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    const s = leaseFile(file);
    s.save('a', ['169.254.0.0/32', '169.254.0.1/32']);
    assert.equal(fds(), before + 1, 'kept open for the next append');
    s.close?.();
    assert.equal(fds(), before);
    s.save('b', ['169.254.0.2/32', '169.254.0.3/32']);
    s.close?.();
    assert.equal(fds(), before);
    assert.deepEqual(Object.keys(leaseFile(file).load()), ['a', 'b']);
  });

  it('an unwritable file is not fatal', () => {
    writeFileSync(join(dir, 'a-file'), '');
    const s = leaseFile(join(dir, 'a-file', 'leases.json'));
    assert.deepEqual(s.load(), {});
    s.save('a', ['169.254.0.0/32', '169.254.0.1/32']);
    s.remove('a');
  });
});

describe('ipam element', () => {
  it('gives each connection a /32 pair and routes to the other end', async () => {
    const { rec, handler } = setup(['169.254.0.0/24']);
    const a = await handler.request(req('a'), newCtx());
    const ip = a.context!.ipContext!;
    assert.deepEqual(ip.dstIpAddrs, ['169.254.0.0/32']);
    assert.deepEqual(ip.srcIpAddrs, ['169.254.0.1/32']);
    assert.deepEqual(ip.srcRoutes.map((r) => r.prefix), ['169.254.0.0/32']);
    assert.deepEqual(ip.dstRoutes.map((r) => r.prefix), ['169.254.0.1/32']);
    assert.deepEqual(rec.requests[0]!.conn.context!.ipContext!.srcIpAddrs, ['169.254.0.1/32'], 'set before the next element');
    const b = await handler.request(req('b'), newCtx());
    const all = [...ip.srcIpAddrs, ...ip.dstIpAddrs, ...b.context!.ipContext!.srcIpAddrs, ...b.context!.ipContext!.dstIpAddrs];
    assert.equal(new Set(all).size, 4, `distinct per connection: ${all.join(' ')}`);
  });

  it('dual stack: addresses and routes of both families', async () => {
    const { handler } = setup(['169.254.1.0/24', '2001:db8:1::/64']);
    const out = await handler.request(req('d'), newCtx());
    const ip = out.context!.ipContext!;
    assert.deepEqual(ip.dstIpAddrs, ['169.254.1.0/32', '2001:db8:1::/128']);
    assert.deepEqual(ip.srcIpAddrs, ['169.254.1.1/32', '2001:db8:1::1/128']);
    assert.deepEqual(ip.srcRoutes.map((r) => r.prefix), ip.dstIpAddrs);
    assert.deepEqual(ip.dstRoutes.map((r) => r.prefix), ip.srcIpAddrs);
  });

  it('a connection without a context gets one', async () => {
    const { handler } = setup(['169.254.0.0/24']);
    const out = await handler.request(NetworkServiceRequest.fromPartial({ connection: { id: 'bare' } }), newCtx());
    assert.deepEqual(out.context!.ipContext!.srcIpAddrs, ['169.254.0.1/32']);
  });

  it('keeps the addresses across refreshes (even if the caller cleared them)', async () => {
    const { ipam, handler } = setup(['169.254.0.0/24', '2001:db8::/64']);
    const first = await handler.request(req('a'), newCtx());
    const again = Connection.fromPartial(first);
    again.context!.ipContext!.srcIpAddrs = [];
    const second = await handler.request(NetworkServiceRequest.fromPartial({ connection: again }), newCtx());
    assert.deepEqual(second.context!.ipContext!.srcIpAddrs, first.context!.ipContext!.srcIpAddrs);
    assert.deepEqual(second.context!.ipContext!.dstIpAddrs, first.context!.ipContext!.dstIpAddrs);
    assert.equal(ipam.pool.inUse, 4);
  });

  it('skips excluded prefixes of both families', async () => {
    const { handler } = setup(['169.254.0.0/24', '2001:db8:5::/64']);
    const out = await handler.request(req('x', ['169.254.0.0/30', '2001:db8:5::/126', '169.254.0.5/32', '2001:db8:5::5']), newCtx());
    assert.deepEqual(out.context!.ipContext!.dstIpAddrs, ['169.254.0.4/32', '2001:db8:5::4/128']);
    assert.deepEqual(out.context!.ipContext!.srcIpAddrs, ['169.254.0.6/32', '2001:db8:5::6/128']);
  });

  it('a malformed excluded prefix is INVALID_ARGUMENT naming the field', async () => {
    const { rec, handler } = setup(['2001:db8::/64']);
    await assert.rejects(handler.request(req('x', ['2001:db8::/64', 'bogus']), newCtx()), hasCode(Status.INVALID_ARGUMENT, /excluded_prefixes\[1\]/));
    assert.equal(rec.requests.length, 0);
  });

  it('releases on close', async () => {
    const { ipam, handler } = setup(['2001:db8::/127']);
    const a = await handler.request(req('a'), newCtx());
    assert.equal(ipam.pool.inUse, 2);
    await assert.rejects(handler.request(req('b'), newCtx()), hasCode(Status.FAILED_PRECONDITION));
    await handler.close(a, newCtx());
    assert.equal(ipam.pool.inUse, 0);
    const b = await handler.request(req('b'), newCtx());
    assert.deepEqual(b.context!.ipContext!.dstIpAddrs, ['2001:db8::/128']);
  });

  it('releases when the downstream fails on the first request, keeps the lease when a refresh fails', async () => {
    const failing = new Set(['bad']);
    const { ipam, handler } = setup(['169.254.0.0/31'], failing);
    await assert.rejects(handler.request(req('bad'), newCtx()), /downstream failed/);
    assert.equal(ipam.pool.inUse, 0);
    const ok = await handler.request(req('ok'), newCtx());
    failing.add('ok');
    await assert.rejects(handler.request(NetworkServiceRequest.fromPartial({ connection: ok }), newCtx()), /downstream failed/);
    assert.equal(ipam.pool.inUse, 2, 'an established connection keeps its addresses');
    await handler.close(ok, newCtx());
    assert.equal(ipam.pool.inUse, 0);
  });

  it('after a restart with a store, the refreshed connection keeps its addresses and a new one gets others', async () => {
    const store = memoryStore();
    const first = setup(['169.254.0.0/30', '2001:db8::/126'], undefined, store);
    const a = await first.handler.request(req('a'), newCtx());
    const restarted = setup(['169.254.0.0/30', '2001:db8::/126'], undefined, store);
    const b = await restarted.handler.request(req('b'), newCtx());
    assert.deepEqual(b.context!.ipContext!.dstIpAddrs, ['169.254.0.2/32', '2001:db8::2/128']);
    const a2 = await restarted.handler.request(NetworkServiceRequest.fromPartial({ connection: a }), newCtx());
    assert.deepEqual(a2.context!.ipContext!.srcIpAddrs, a.context!.ipContext!.srcIpAddrs);
    await restarted.handler.close(a2, newCtx());
    assert.deepEqual(Object.keys(store.data), ['b']);
  });

  it('exhaustion is FAILED_PRECONDITION and nothing goes downstream', async () => {
    const { rec, handler } = setup(['169.254.0.0/32']);
    await assert.rejects(handler.request(req('a'), newCtx()), hasCode(Status.FAILED_PRECONDITION, /169\.254\.0\.0\/32/));
    assert.equal(rec.requests.length, 0);
  });
});
