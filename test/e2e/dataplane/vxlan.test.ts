// E2E: VXLAN between two "node" namespaces whose underlay is a bridge in a third namespace.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { InvalidArgumentError } from '../../../src/api/errors.js';
import { KernelDriver, aliasFor } from '../../../src/dataplane/index.js';
import { createTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';

const driver = new KernelDriver();
before(async () => {
  await sweepStaleTestNetns();
});
after(() => driver.close());

test('vxlan across a bridged underlay pings both ways; bad VNIs leave nothing behind', async (t) => {
  const [n1, n2, ul] = await createTestNetns(t, 'n1', 'n2', 'ul');
  await driver.createBridge(ul, 'br0', { alias: 'nsm-underlay' });
  await driver.createVeth({ name: 'eth0', netns: n1, peerName: 'u1', peerNetns: ul, alias: 'underlay:n1' });
  await driver.createVeth({ name: 'eth0', netns: n2, peerName: 'u2', peerNetns: ul, alias: 'underlay:n2' });
  await driver.addToBridge(ul, 'u1', 'br0');
  await driver.addToBridge(ul, 'u2', 'br0');
  await driver.addAddress(n1, 'eth0', '198.18.0.1/24');
  await driver.addAddress(n2, 'eth0', '198.18.0.2/24');
  assert.ok(ping(n1, '198.18.0.2'), 'underlay');

  const alias = aliasFor('vx-conn');
  await driver.createVxlan({ name: 'vx0', netns: n1, vni: 100, local: '198.18.0.1', remote: '198.18.0.2', dev: 'eth0', alias, mtu: 1450 });
  await driver.createVxlan({ name: 'vx0', netns: n2, vni: 100, local: '198.18.0.2', remote: '198.18.0.1', dev: 'eth0', alias, mtu: 1450 });
  await driver.addAddress(n1, 'vx0', '169.254.10.1/32');
  await driver.addAddress(n2, 'vx0', '169.254.10.2/32');
  await driver.addRoute(n1, { prefix: '169.254.10.2/32', dev: 'vx0' });
  await driver.addRoute(n2, { prefix: '169.254.10.1/32', dev: 'vx0' });
  assert.ok(ping(n1, '169.254.10.2'), 'n1 -> n2 over vxlan');
  assert.ok(ping(n2, '169.254.10.1'), 'n2 -> n1 over vxlan');
  const vx = (await driver.listTagged(n1)).map((l) => ({ name: l.name, kind: l.kind, mtu: l.mtu, up: l.up }));
  assert.deepEqual(vx, [{ name: 'vx0', kind: 'vxlan', mtu: 1450, up: true }]);

  const bad = { name: 'vx1', netns: n1, local: '198.18.0.1', remote: '198.18.0.2', alias };
  await assert.rejects(driver.createVxlan({ ...bad, vni: 0 }), (e: Error) => e instanceof InvalidArgumentError && /vni/.test(e.message));
  await assert.rejects(driver.createVxlan({ ...bad, vni: 2 ** 24 }), (e: Error) => e instanceof InvalidArgumentError && /vni/.test(e.message));
  await assert.rejects(driver.createVxlan({ ...bad, vni: 5, remote: '2001:db8::2' }), InvalidArgumentError);
  await assert.rejects(driver.createVxlan({ ...bad, vni: 5, port: 0 }), InvalidArgumentError);
  await assert.rejects(driver.createVxlan({ ...bad, vni: 5, name: 'vx0' }), /already exists/);
  assert.deepEqual((await driver.listLinks(n1)).map((l) => l.name).sort(), ['eth0', 'lo', 'vx0']);

  assert.equal(await driver.deleteLink(n1, 'vx0'), true);
  assert.equal(await driver.deleteLink(n2, 'vx0'), true);
  assert.deepEqual(await driver.listTagged(n1), []);
});

test('a vxlan made without a peer (moved into a workload namespace) gets it later and then carries traffic', async (t) => {
  const [n1, n2, ul, w1] = await createTestNetns(t, 'n1', 'n2', 'ul', 'w1');
  await driver.createBridge(ul, 'br0', { alias: 'nsm-underlay' });
  await driver.createVeth({ name: 'eth0', netns: n1, peerName: 'u1', peerNetns: ul, alias: 'underlay:n1' });
  await driver.createVeth({ name: 'eth0', netns: n2, peerName: 'u2', peerNetns: ul, alias: 'underlay:n2' });
  await driver.addToBridge(ul, 'u1', 'br0');
  await driver.addToBridge(ul, 'u2', 'br0');
  await driver.addAddress(n1, 'eth0', '198.18.0.1/24');
  await driver.addAddress(n2, 'eth0', '198.18.0.2/24');
  const alias = aliasFor('vx-early');
  // As the client-side forwarder does before the peer has answered: no remote yet, straight into the workload's namespace.
  await driver.createVxlan({ name: 'vx0', netns: n1, targetNetns: w1, vni: 200, local: '198.18.0.1', alias, mtu: 1450 });
  await driver.createVxlan({ name: 'vx0', netns: n2, vni: 200, local: '198.18.0.2', remote: '198.18.0.1', alias, mtu: 1450 });
  await assert.rejects(driver.setVxlanRemote(w1, 'vx0', 'not-an-ip'), InvalidArgumentError);
  await Promise.all([driver.setVxlanRemote(w1, 'vx0', '198.18.0.2'), driver.addAddress(w1, 'vx0', '169.254.11.1/32'), driver.addRoute(w1, { prefix: '169.254.11.2/32', dev: 'vx0' })]);
  await driver.addAddress(n2, 'vx0', '169.254.11.2/32');
  await driver.addRoute(n2, { prefix: '169.254.11.1/32', dev: 'vx0' });
  assert.ok(ping(w1, '169.254.11.2'), 'workload -> n2 over the vxlan whose peer was set afterwards');
  assert.equal(await driver.deleteLink(w1, 'vx0'), true);
  assert.equal(await driver.deleteLink(n2, 'vx0'), true);
});

test('setSysctl writes inside the namespace only', async (t) => {
  const [a] = await createTestNetns(t, 'fw');
  await driver.setSysctl(a, 'net.ipv4.ip_forward', 1);
  const { execFileSync } = await import('node:child_process');
  assert.equal(execFileSync('ip', ['netns', 'exec', a, 'cat', '/proc/sys/net/ipv4/ip_forward']).toString().trim(), '1');
  await assert.rejects(driver.setSysctl(a, 'kernel.panic', 1), InvalidArgumentError);
  await assert.rejects(driver.setSysctl(a, 'net.ipv4.nosuchkey', 1), /nosuchkey/);
});
