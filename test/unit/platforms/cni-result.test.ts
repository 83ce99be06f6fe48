// nsm-cni results: interfaces, addresses and routes from connections; chained onto a prevResult; legacy versions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '../../../src/api/index.js';
import { buildResult } from '../../../src/platforms/cni/result.js';

const conn = Connection.fromPartial({
  id: 'c1',
  context: { ipContext: { srcIpAddrs: ['169.254.1.1/32'], dstIpAddrs: ['169.254.1.0/32'], srcRoutes: [{ prefix: '169.254.2.0/24', nextHop: '169.254.1.0' }] } },
});

test('standalone: one interface in the sandbox, its address, a route to the far end and the configured routes', () => {
  assert.deepEqual(buildResult([{ ifname: 'nsm-1', connection: conn }], '/run/netns/x', '1.0.0'), {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'nsm-1', sandbox: '/run/netns/x' }],
    ips: [{ address: '169.254.1.1/32', interface: 0 }],
    routes: [{ dst: '169.254.2.0/24', gw: '169.254.1.0' }, { dst: '169.254.1.0/32' }],
    dns: {},
  });
});

test('chained: appended to the previous result, interface indexes shifted, DNS kept', () => {
  const prev = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: '/run/netns/x' }], ips: [{ address: '198.18.5.2/24', interface: 0 }], routes: [{ dst: '0.0.0.0/0' }], dns: { nameservers: ['198.18.5.1'] } };
  const r = buildResult([{ ifname: 'nsm-1', connection: conn }], '/run/netns/x', '1.0.0', prev);
  assert.deepEqual(r.interfaces.map((i) => i.name), ['eth0', 'nsm-1']);
  assert.deepEqual(r.ips[1], { address: '169.254.1.1/32', interface: 1 });
  assert.equal(r.routes[0]!.dst, '0.0.0.0/0');
  assert.deepEqual(r.dns, { nameservers: ['198.18.5.1'] });
});

test('results before 1.0.0 carry the address family', () => {
  const r = buildResult([{ ifname: 'nsm-1', connection: conn }], '/run/netns/x', '0.4.0');
  assert.equal(r.ips[0]!.version, '4');
});
