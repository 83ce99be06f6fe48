// The SRV6 mechanism module without a kernel: names derived from the connection id,
// offers and acceptance with upstream's parameter keys, and bad parameters refused by name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { srv6, S } from '../../../src/dataplane/mechanisms/srv6/index.js';
import { cleanupLines, dx6SidOf, locatorOf, nextHop6, nodeEndName, sidOf, tableOf } from '../../../src/dataplane/mechanisms/srv6/names.js';

const V6 = { underlayIp: '2001:db8:ff::1' };
const V4 = { underlayIp: '198.18.0.1' };

describe('srv6 mechanism', () => {
  it('names, table and SIDs are stable per connection and distinct between connections', () => {
    assert.match(nodeEndName('a'), /^s6x[0-9a-f]{6}$/);
    assert.equal(nodeEndName('a'), nodeEndName('a'));
    assert.notEqual(nodeEndName('a'), nodeEndName('b'));
    const t = tableOf(nodeEndName('a'))!;
    assert.ok(t.pref < 32766 && t.table >= 100_000);
    assert.equal(tableOf('nsm-1'), undefined);
    assert.equal(locatorOf('2001:db8:ff::2'), '2001:db8:5:2');
    assert.match(sidOf('2001:db8:ff::2', 'a'), /^2001:db8:5:2:[0-9a-f]{1,4}:[0-9a-f]{1,4}:0:4$/);
    assert.deepEqual(cleanupLines('nsm-1'), { v4: [], v6: [] });
    assert.equal(cleanupLines(nodeEndName('a')).v4.length, 2);
    assert.equal(cleanupLines(nodeEndName('a')).v6.length, 2);
    assert.equal(dx6SidOf('2001:db8:5:2:ab:cd:0:4'), '2001:db8:5:2:ab:cd:0:6');
    assert.match(nextHop6('a'), /^2001:db8:6::[0-9a-f]{1,4}:[0-9a-f]{1,4}$/);
    assert.notEqual(nextHop6('a', 0), nextHop6('a', 1));
  });

  it('offers only over an IPv6 underlay; keeps the previous SID on refresh', () => {
    assert.equal(srv6.offer(V4, undefined, undefined, 'c'), undefined);
    const o = srv6.offer(V6, undefined, undefined, 'c')!;
    assert.equal(o.type, 'SRV6');
    assert.equal(o.parameters[S.srcHostIp], '2001:db8:ff::1');
    const again = srv6.offer(V6, { ...o, parameters: { ...o.parameters, [S.srcLocalSid]: '2001:db8:5:1:1:2:0:4' } }, undefined, 'c')!;
    assert.equal(again.parameters[S.srcLocalSid], '2001:db8:5:1:1:2:0:4');
  });

  it('the endpoint side adds its host address and SID', () => {
    const o = srv6.offer(V6, undefined, undefined, 'c')!;
    const a = srv6.accept(o, { underlayIp: '2001:db8:ff::2' }, 'd');
    assert.equal(a.parameters[S.dstHostIp], '2001:db8:ff::2');
    assert.equal(a.parameters[S.dstLocalSid], sidOf('2001:db8:ff::2', 'd'));
    assert.equal(a.parameters[S.srcLocalSid], o.parameters[S.srcLocalSid]);
  });

  it('bad parameters are named; an IPv4 underlay cannot take SRV6', () => {
    const o = srv6.offer(V6, undefined, undefined, 'c')!;
    assert.equal(srv6.check(o, V6), undefined);
    assert.match(srv6.check(o, V4)!, /IPv6 underlay/);
    assert.match(srv6.check({ ...o, parameters: { ...o.parameters, [S.srcHostIp]: '198.18.0.1' } }, V6)!, /"src_host_ip"/);
    assert.match(srv6.check({ ...o, parameters: { ...o.parameters, [S.srcLocalSid]: 'x' } }, V6)!, /"src_localsid"/);
    assert.match(srv6.check({ ...o, parameters: { ...o.parameters, [S.srcLocalSid]: '2001:db8::4' } }, V6)!, /"src_localsid"/);
  });
});
