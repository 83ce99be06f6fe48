// E2E (issue 15): a Cedar user policy on a real nsmgr (NSM_POLICY_FILE): only clients labelled
// tier=gold may request service "secure"; the refusal names the policy and creates no interface.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { MeshClient } from '../../../src/components/client.js';
import { createTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { freePort, ipOf, links, Mesh, ROOT } from '../helpers/mesh.js';

before(async () => {
  await sweepStaleTestNetns();
});

test('user policy: tier=gold may request "secure", others get PERMISSION_DENIED naming the policy', async (t) => {
  const mesh = new Mesh(t);
  const [node, nse, c1, c2] = await createTestNetns(t, 'node', 'nse', 'c1', 'c2');
  const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
  const nsmgrUrl = mesh.sock('nsmgr');
  await mesh.registry({ listen: registryUrl, netns: node });
  await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: registryUrl, netns: node, env: { NSM_POLICY_FILE: `${ROOT}examples/policies/gold-only.cedar` } });
  await mesh.forwarder({ name: 'forwarder-1', listen: mesh.sock('forwarder'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1', netns: node });
  await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.13.0/24', service: 'secure', netns: node });

  const silver = await MeshClient.create({ name: 'nsc-silver', nsmgrUrl, heal: false });
  t.after(() => silver.shutdown());
  await assert.rejects(silver.request({ service: 'secure', ifname: 'nsm-1', netnsUrl: `file:///var/run/netns/${c2}`, labels: { tier: 'silver' }, timeoutMs: 10_000 }), (err: unknown) => {
    assert.equal((err as { code?: number }).code, 7, String(err));
    assert.match((err as Error).message, /user-policy: .*gold-only\.cedar: Request of service "secure" by "nsc-silver" denied by policy "gold-only"/);
    return true;
  });
  assert.deepEqual(links(c2), [], 'no interface for the refused client');

  const gold = await mesh.nsc({ name: 'nsc-gold', nsmgr: nsmgrUrl, workloadNetns: c1, urls: ['kernel://secure/nsm-1?tier=gold'] });
  assert.ok(ping(c1, ipOf(gold.conn.dstIp)));
});
