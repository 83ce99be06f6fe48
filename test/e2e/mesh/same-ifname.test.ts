// E2E (issue 19 item 4): a second connection asking for the same interface name in
// the same namespace is refused with ALREADY_EXISTS; the first connection keeps its
// interface and keeps working, also through its refreshes.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ClientError, Status } from 'nice-grpc-common';
import { MeshClient } from '../../../src/components/client.js';
import { createTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { addrs, ipOf, links, Mesh, sleep } from '../helpers/mesh.js';
import { oneNode } from '../helpers/one-node.js';

before(async () => {
  await sweepStaleTestNetns();
});

test('two connections, one interface name: the second is ALREADY_EXISTS, the first keeps working', async (t) => {
  const mesh = new Mesh(t, { lifetime: '6s' });
  const [node, nse, c1] = await createTestNetns(t, 'node', 'nse', 'c1');
  const { nsmgrUrl } = await oneNode(mesh, node);
  await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.11.0/24', netns: node });
  const first = await mesh.nsc({ name: 'nsc-1', nsmgr: nsmgrUrl, workloadNetns: c1, urls: ['kernel://icmp-responder/nsm-1'] });
  assert.ok(ping(c1, ipOf(first.conn.dstIp)));

  const client = await MeshClient.create({ name: 'nsc-2', nsmgrUrl, heal: false, tokenLifetimeMs: 6000 });
  await assert.rejects(
    client.request({ service: 'icmp-responder', ifname: 'nsm-1', netnsUrl: `file:///var/run/netns/${c1}` }),
    (err: unknown) => {
      assert.ok(err instanceof ClientError || (err as { code?: number }).code !== undefined, String(err));
      assert.equal((err as { code: number }).code, Status.ALREADY_EXISTS, String(err));
      assert.match((err as Error).message, /interface "nsm-1" already exists .*used by connection/);
      return true;
    },
  );
  assert.deepEqual(links(c1), ['nsm-1']);
  assert.deepEqual(addrs(c1, 'nsm-1'), [first.conn.srcIp], 'the first connection keeps its interface and address');
  assert.equal(links(nse).length, 1, 'nothing left of the refused connection at the endpoint');
  // Past a couple of refreshes (lifetime 6 s: every 2 s) the first still works.
  await sleep(4500);
  assert.ok(ping(c1, ipOf(first.conn.dstIp)), 'still up after its refreshes');
  assert.deepEqual(await first.proc.stop(), { code: 0, signal: null });
  assert.deepEqual(links(c1), []);
});
