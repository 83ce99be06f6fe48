// E2E: the forwarder is SIGKILLed with connections up and restarted. A refreshed connection is
// re-programmed by the new forwarder (replacing its leftover link) and works again; a connection
// closed right after the restart leaves nothing behind; after the last Close nothing is left.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { addrs, freePort, ipOf, links, Mesh, sleep, waitFor } from '../helpers/mesh.js';

before(async () => {
  await sweepStaleTestNetns();
});

test('forwarder SIGKILL + restart: no leaked interfaces, refreshed connection works again', async (t) => {
  const mesh = new Mesh(t, { lifetime: '6s' });
  const [node, nse, c1, c2] = await createTestNetns(t, 'node', 'nse', 'c1', 'c2');
  const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
  const nsmgrUrl = mesh.sock('nsmgr');
  const fwdOpts = { name: 'forwarder-1', listen: mesh.sock('forwarder'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1', netns: node };
  await mesh.registry({ listen: registryUrl, netns: node });
  await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: registryUrl, netns: node });
  const fwd1 = await mesh.forwarder(fwdOpts);
  await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.3.0/24', netns: node });
  const [a, b] = await Promise.all([
    mesh.nsc({ name: 'nsc-1', nsmgr: nsmgrUrl, workloadNetns: c1, urls: ['kernel://icmp-responder/nsm-1'] }),
    mesh.nsc({ name: 'nsc-2', nsmgr: nsmgrUrl, workloadNetns: c2, urls: ['kernel://icmp-responder/nsm-1'] }),
  ]);
  assert.ok(ping(c1, ipOf(a.conn.dstIp)));
  assert.ok(ping(c2, ipOf(b.conn.dstIp)));

  assert.equal((await fwd1.kill()).signal, 'SIGKILL');
  assert.deepEqual(links(c1), ['nsm-1'], 'the kernel keeps the links of a killed forwarder');
  const fwd2 = await mesh.forwarder(fwdOpts);

  await t.test('a connection closed right after the restart leaves nothing', async () => {
    assert.deepEqual(await b.proc.stop(), { code: 0, signal: null }, mesh.logs());
    // The new forwarder removes it on Close, or at the latest when its adopt grace (lifetime/2) ends.
    const ms = await waitFor('nsc-2 interface to be removed', () => links(c2).length === 0, 8000);
    t.diagnostic(`closed connection's interface removed ${ms} ms after nsc-2 exited`);
    await waitFor('endpoint namespace to hold only nsc-1', () => links(nse).length === 1, 8000);
  });

  await t.test('the refreshed connection is re-programmed by the new forwarder and works', async () => {
    await waitFor('a refresh through the new forwarder', () => /data plane programmed/.test(fwd2.stderr), 10_000);
    await waitFor('ping after re-programming', () => ping(c1, ipOf(a.conn.dstIp)), 5000);
    assert.ok(ping(nse, ipOf(a.conn.srcIp)), 'endpoint -> client');
    assert.deepEqual(links(c1), ['nsm-1']);
    assert.deepEqual(addrs(c1, 'nsm-1'), [a.conn.srcIp]);
    // Past the adopt grace and a few more refreshes: the adopted link stays.
    await sleep(4000);
    assert.ok(ping(c1, ipOf(a.conn.dstIp)), 'still up after the ledger sweep');
    assert.equal(links(nse).length, 1);
  });

  await t.test('after the last Close nothing is left', async () => {
    assert.deepEqual(await a.proc.stop(), { code: 0, signal: null }, mesh.logs());
    assert.deepEqual(links(c1), []);
    await waitFor('endpoint namespace to be empty', () => links(nse).length === 0, 3000);
    assert.deepEqual(links(node), []);
  });
});
