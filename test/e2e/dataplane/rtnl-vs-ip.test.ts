// E2E: the hot path over in-process rtnetlink leaves exactly what the `ip -batch` fallback leaves (links,
// aliases, addresses with their flags, routes, proxy NDP entries), reports the same typed errors, and
// leaves nothing behind when a step fails.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { AlreadyExistsError, FailedPreconditionError, MeshError } from '../../../src/api/errors.js';
import { KernelDriver, aliasFor } from '../../../src/dataplane/index.js';
import { createTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';

const rtnl = new KernelDriver({ rtnl: true });
const ip = new KernelDriver({ rtnl: false });
before(async () => {
  await sweepStaleTestNetns();
});
after(() => {
  rtnl.close();
  ip.close();
});

/** What `ip` shows of a namespace, with what differs between two links by nature (index, MAC, peer namespace) normalised. */
function state(ns: string): string {
  const show = (...args: string[]) => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
  return [show('-d', 'link', 'show'), show('addr', 'show'), show('route', 'show'), show('-6', 'route', 'show'), show('-6', 'neigh', 'show', 'proxy')]
    .join('\n')
    .replace(/link\/ether \S+ brd \S+/g, 'link/ether M')
    .replace(/^\d+: /gm, 'N: ')
    .replace(/@if\d+/g, '@ifN')
    .replace(/link-netns \S+/g, 'link-netns X')
    .replace(/fe80::\S+/g, 'fe80::X')
    .replace(/ tentative/g, '')
    .replace(/_timer\s+[\d.]+/g, '_timer T')
    .replace(/169\.254\.(\d+)\.\d+/g, '169.254.$1.X')
    .replace(/2001:db8:(\d+)::\d+/g, '2001:db8:$1::X')
    .split('\n')
    .filter((l) => !/^\s*$/.test(l))
    .sort()
    .join('\n');
}

test('veth and VXLAN with addresses and routes: rtnetlink and ip leave the same kernel state', async (t) => {
  const [a, b, c, d] = await createTestNetns(t, 'a', 'b', 'c', 'd');
  const alias = aliasFor('conn-eq');
  for (const [drv, x, y] of [[rtnl, a, b], [ip, c, d]] as const) {
    await drv.createVeth({ name: 'nsm-x', netns: x, peerName: 'eth9', peerNetns: y, alias, mtu: 1400 });
    for (const [ns, dev, me, other] of [[x, 'nsm-x', 1, 2], [y, 'eth9', 2, 1]] as const) {
      await drv.addAddress(ns, dev, `169.254.7.${me}/32`);
      await drv.addAddress(ns, dev, `2001:db8:7::${me}/128`);
      await drv.addAddress(ns, dev, `2001:db8:8::${me}/64`);
      await drv.addRoute(ns, { prefix: `169.254.7.${other}/32`, dev });
      await drv.addRoute(ns, { prefix: `2001:db8:7::${other}/128`, dev });
      await drv.addRoute(ns, { prefix: '169.254.100.0/24', via: `169.254.7.${other}`, dev });
      await drv.addRoute(ns, { prefix: '2001:db8:100::/64', via: `2001:db8:8::${other}`, dev });
      await drv.addRoute(ns, { prefix: `169.254.7.${other}/32`, dev }); // idempotent
    }
    await drv.createBridge(x, 'br0');
    await drv.addAddress(x, 'br0', '198.18.0.1/24');
    await drv.createVxlan({ name: 'vx1', netns: x, targetNetns: y, vni: 4000, local: '198.18.0.1', remote: '198.18.0.2', dev: 'br0', alias, mtu: 1450 });
    await drv.addAddress(y, 'vx1', '169.254.9.1/32');
  }
  assert.ok(ping(a, '169.254.7.2') && ping(b, '2001:db8:7::1'), 'rtnetlink veth pings both families');
  assert.equal(state(a), state(c), 'first namespace');
  assert.equal(state(b), state(d), 'second namespace (veth peer, VXLAN moved in)');
  for (const [drv, x, y] of [[rtnl, a, b], [ip, c, d]] as const) {
    assert.equal(await drv.deleteLink(x, 'nsm-x'), true);
    assert.equal(await drv.deleteLink(x, 'nsm-x'), false, 'a missing link is reported, not an error');
    assert.equal(await drv.deleteLink(y, 'vx1'), true);
  }
  assert.equal(state(b), state(d), 'both ends gone');
});

test('rtnetlink errors are the typed ones, and nothing half-made is left', async (t) => {
  const [a, b] = await createTestNetns(t, 'a', 'b');
  const alias = aliasFor('conn-err');
  await rtnl.createVeth({ name: 'v1', netns: a, peerName: 'v2', peerNetns: b, alias });
  await assert.rejects(rtnl.createVeth({ name: 'v1', netns: a, peerName: 'v3', peerNetns: b, alias }), AlreadyExistsError);
  await assert.rejects(rtnl.addAddress(a, 'nope0', '169.254.1.1/32'), (e: Error) => e instanceof FailedPreconditionError && /nope0/.test(e.message));
  await assert.rejects(rtnl.addRoute(a, { prefix: '169.254.50.0/24', via: '169.254.99.9', dev: 'v1' }), (e: Error) => e instanceof MeshError && /v1/.test(e.message));
  // a VXLAN whose VNI/port is taken fails at creation: nothing under its name remains
  await rtnl.createBridge(a, 'br0');
  await rtnl.addAddress(a, 'br0', '198.18.1.1/24');
  await rtnl.createVxlan({ name: 'vxa', netns: a, vni: 10, local: '198.18.1.1', remote: '198.18.1.2', alias });
  await assert.rejects(rtnl.createVxlan({ name: 'vxb', netns: a, vni: 10, local: '198.18.1.1', remote: '198.18.1.2', alias }));
  assert.equal(await rtnl.linkExists(a, 'vxb'), false);
  // a peer name taken in the peer's namespace: the kernel refuses the whole pair
  await assert.rejects(rtnl.createVeth({ name: 'v9', netns: a, peerName: 'v2', peerNetns: b, alias }), AlreadyExistsError);
  assert.equal(await rtnl.linkExists(a, 'v9'), false);
  // the link deleted behind the driver's back and made again: the remembered index is refreshed
  await rtnl.addAddress(a, 'v1', '169.254.2.1/32');
  execFileSync('ip', ['-n', a, 'link', 'del', 'v1']);
  execFileSync('ip', ['-n', a, 'link', 'add', 'v1', 'type', 'veth', 'peer', 'name', 'v1p']);
  await rtnl.addAddress(a, 'v1', '169.254.2.1/32');
  assert.match(execFileSync('ip', ['-n', a, 'addr', 'show', 'dev', 'v1'], { encoding: 'utf8' }), /169\.254\.2\.1\/32/);
});
