// E2E (issue 16): `nsm nsmgr --with-forwarder --background-removal`: the forwarder runs in the nsmgr's
// process and is called in process; connections work as with a separate forwarder (tokens checked at every
// hop), Close returns before the kernel deleted the interface, and a Request for the same interface name right
// after still works; nothing is left behind.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { MeshClient } from '../../../src/components/client.js';
import { closeAllChannels } from '../../../src/api/index.js';
import { createTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { freePort, ipOf, links, Mesh, sleep } from '../helpers/mesh.js';

before(async () => {
  await sweepStaleTestNetns();
});

test('nsmgr --with-forwarder: in-process hop, Close without waiting for the kernel, same name again at once', async (t) => {
  const mesh = new Mesh(t);
  const [node, nse, c1] = await createTestNetns(t, 'node', 'nse', 'c1');
  const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
  const nsmgrUrl = mesh.sock('nsmgr');
  await mesh.registry({ listen: registryUrl, netns: node });
  const nsmgr = await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: registryUrl, netns: node, withForwarder: { underlayIp: '198.18.0.1', backgroundRemoval: true } });
  await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.12.0/24', netns: node });
  const client = await MeshClient.create({ name: 'nsc-1', nsmgrUrl, heal: false });
  t.after(async () => {
    await client.shutdown().catch(() => undefined);
    closeAllChannels();
  });
  const req = { service: 'icmp-responder', ifname: 'nsm-1', netnsUrl: `file:///var/run/netns/${c1}` };
  for (let i = 0; i < 3; i++) {
    const conn = await client.request(req);
    assert.deepEqual(conn.path!.pathSegments.map((s) => s.name), ['nsc-1', 'nsmgr-1', 'nsmgr-1-forwarder', 'nse-1']);
    assert.ok(conn.path!.pathSegments.slice(0, 3).every((s) => s.token), 'every hop signed its segment');
    assert.ok(ping(c1, ipOf(conn.context!.ipContext!.dstIpAddrs[0]!)), `ping through connection ${i + 1}`);
    await client.close(conn);
  }
  // The last removal finishes in the background: nothing leaks.
  for (let i = 0; i < 40 && (links(c1).length > 0 || links(nse).length > 0); i++) await sleep(50);
  assert.deepEqual(links(c1), []);
  assert.deepEqual(links(nse), []);
  assert.match(nsmgr.lines().join('\n'), /forwarder nsmgr-1-forwarder listening on .* \(in process\)/);
});
