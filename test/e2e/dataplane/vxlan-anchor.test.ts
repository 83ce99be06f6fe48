// E2E: the VXLAN anchor (dataplane/vxlan-anchor.ts) on the real kernel: the underlay's UDP socket stays open
// after its last connection interface is deleted, the anchor shows in no namespace of the node or workload, a
// connection offered the anchor's VNI is refused nowhere else, and closing the driver lets the kernel remove it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { before, test } from 'node:test';
import { KernelDriver, aliasFor } from '../../../src/dataplane/index.js';
import { waitFor } from '../helpers/mesh.js';
import { createTestNetns, sweepStaleTestNetns } from '../helpers/netns.js';

before(async () => {
  await sweepStaleTestNetns();
});

/** Whether a UDP socket is bound to `port` in `ns` (the kernel's VXLAN socket shows in /proc/net/udp). */
const udpBound = (ns: string, port: number) =>
  execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/udp'], { encoding: 'utf8' })
    .split('\n')
    .some((l) => l.trim().split(/\s+/)[1]?.endsWith(`:${port.toString(16).toUpperCase().padStart(4, '0')}`));
const linkNames = (ns: string) => JSON.parse(execFileSync('ip', ['-j', '-n', ns, 'link', 'show'], { encoding: 'utf8' })).map((l: { ifname: string }) => l.ifname).sort() as string[];

test('an anchor keeps the VXLAN socket open between connections, out of sight, until the driver closes', async (t) => {
  const [n1, w] = await createTestNetns(t, 'n1', 'w');
  const driver = new KernelDriver({ vxlanAnchor: true });
  t.after(() => driver.close());
  if (!driver.usesRtnl) return t.skip('no rtnetlink here (the anchor needs it)');
  execFileSync('ip', ['-n', n1, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1']);
  execFileSync('ip', ['-n', n1, 'addr', 'add', '198.18.7.1/24', 'dev', 'eth0']);
  execFileSync('ip', ['-n', n1, 'link', 'set', 'eth0', 'up']);

  for (const i of [1, 2]) {
    await driver.createVxlan({ name: `vx${i}`, netns: n1, targetNetns: w, vni: 300 + i, local: '198.18.7.1', alias: aliasFor(`c${i}`), mtu: 1450 });
    assert.deepEqual(linkNames(w), ['lo', `vx${i}`]);
    assert.deepEqual(linkNames(n1), ['eth0', 'eth1', 'lo'], 'the anchor is not in the node namespace');
    assert.equal(await driver.deleteLink(w, `vx${i}`), true);
    assert.ok(udpBound(n1, 4789), 'the socket outlives the last connection interface');
  }
  // The anchor's VNI is its own: a connection asking for it is refused with a clear error, nothing is left.
  await assert.rejects(driver.createVxlan({ name: 'vx9', netns: n1, targetNetns: w, vni: 2 ** 24 - 1, local: '198.18.7.1', alias: aliasFor('c9') }), /already exists/);
  assert.deepEqual(linkNames(w), ['lo']);

  driver.close();
  await waitFor('the anchor (and its socket) gone with the driver', () => !udpBound(n1, 4789), 5000);
});

test('without the anchor the socket goes with the last interface (the kernel behaviour the anchor works around)', async (t) => {
  const [n1, w] = await createTestNetns(t, 'n1', 'w');
  const driver = new KernelDriver({ vxlanAnchor: false });
  t.after(() => driver.close());
  execFileSync('ip', ['-n', n1, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1']);
  execFileSync('ip', ['-n', n1, 'addr', 'add', '198.18.7.1/24', 'dev', 'eth0']);
  execFileSync('ip', ['-n', n1, 'link', 'set', 'eth0', 'up']);
  await driver.createVxlan({ name: 'vx1', netns: n1, targetNetns: w, vni: 301, local: '198.18.7.1', alias: aliasFor('c1'), mtu: 1450 });
  assert.ok(udpBound(n1, 4789));
  await driver.deleteLink(w, 'vx1');
  await waitFor('socket closed with the last interface', () => !udpBound(n1, 4789), 5000);
});
