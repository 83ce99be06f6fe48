// E2E with short token lifetimes (4 s on every component): a client killed with SIGKILL (no
// Close) has its connection closed and its interfaces removed on every hop by the timeout
// element; a live client's refreshes keep its connection up past several token lifetimes.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { ipOf, links, Mesh, sleep, waitFor } from '../helpers/mesh.js';
import { oneNode } from '../helpers/one-node.js';

const LIFETIME_MS = 4000;

before(async () => {
  await sweepStaleTestNetns();
});

test('token expiry: abandoned connection is removed, refreshed one stays up', async (t) => {
  const mesh = new Mesh(t, { lifetime: `${LIFETIME_MS}ms` });
  const [node, nse, c1, c2] = await createTestNetns(t, 'node', 'nse', 'c1', 'c2');
  const { nsmgrUrl } = await oneNode(mesh, node);
  await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.4.0/24', netns: node });
  const [kept, abandoned] = await Promise.all([
    mesh.nsc({ name: 'nsc-kept', nsmgr: nsmgrUrl, workloadNetns: c1, urls: ['kernel://icmp-responder/nsm-1'] }),
    mesh.nsc({ name: 'nsc-gone', nsmgr: nsmgrUrl, workloadNetns: c2, urls: ['kernel://icmp-responder/nsm-1'] }),
  ]);
  assert.ok(ping(c1, ipOf(kept.conn.dstIp)));
  assert.ok(ping(c2, ipOf(abandoned.conn.dstIp)));
  assert.equal(links(nse).length, 2);

  // Both run at once: the abandoned connection expires while the kept one keeps refreshing.
  await Promise.all([
    t.test('SIGKILLed client: interfaces removed on every hop within ~2 lifetimes', async (tt) => {
      assert.equal((await abandoned.proc.kill()).signal, 'SIGKILL');
      const ms = await waitFor('abandoned interfaces to be removed', () => links(c2).length === 0 && links(nse).length === 1, 2 * LIFETIME_MS).catch((err: Error) => {
        throw new Error(`${err.message}: client ${links(c2)}, endpoint ${links(nse)}\n${mesh.logs(30)}`);
      });
      tt.diagnostic(`abandoned connection removed ${ms} ms after SIGKILL`);
      assert.deepEqual(links(node), []);
    }),
    t.test('refresh keeps a connection alive past 3 token lifetimes', async () => {
      const until = Date.now() + 3 * LIFETIME_MS + 500;
      let pings = 0;
      while (Date.now() < until) {
        assert.ok(ping(c1, ipOf(kept.conn.dstIp)), `ping ${pings} failed:\n${mesh.logs()}`);
        pings++;
        await sleep(1000);
      }
      assert.ok(ping(nse, ipOf(kept.conn.srcIp)), 'endpoint -> client after 3 lifetimes');
      assert.deepEqual(links(c1), ['nsm-1']);
      assert.ok(kept.proc.alive);
    }),
  ]);

  await t.test('Close after all that leaves nothing', async () => {
    assert.deepEqual(await kept.proc.stop(), { code: 0, signal: null }, mesh.logs());
    assert.deepEqual(links(c1), []);
    await waitFor('endpoint namespace to be empty', () => links(nse).length === 0, 3000);
  });
});
