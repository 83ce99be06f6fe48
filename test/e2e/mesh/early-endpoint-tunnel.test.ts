// E2E, two nodes: the endpoint-side forwarder of a remote connection (VXLAN in, KERNEL out) makes the VXLAN
// interface, peer included, in the endpoint's namespace while the Request is at the endpoint, where that endpoint's
// previous answer put its interface. An endpoint that comes back in another namespace (same name and URL) answers
// differently, and an endpoint that refuses fails the Request: neither leaves a stray interface in any namespace
// (the one guessed, the one answered, the client's, the nodes'). Also over `ip` (NSM_RTNL=0).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { firstRefusedClient } from '../helpers/refused-client.js';
import { createTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { ipOf, links, Mesh, waitFor, type MeshProcess } from '../helpers/mesh.js';
import { twoNodes } from '../helpers/two-nodes.js';

before(async () => {
  await sweepStaleTestNetns();
});

const logOf = (p: MeshProcess) => `${p.stdout}\n${p.stderr}`;
const count = (p: MeshProcess, what: string) => logOf(p).split('\n').filter((l) => l.includes(what)).length;
const urls = ['kernel://icmp-responder/nsm-1'];

test('early endpoint tunnel: prepared from the last answer; a different answer or a failed Request leaves no stray interface', async (t) => {
  const mesh = new Mesh(t);
  // Debug lines say what the early path did.
  const { n1, n2, nsc, nse, fwds } = await twoNodes(t, mesh, { family: 4, cidr: '169.254.3.0/24', env: [{}, { NSM_LOG_LEVEL: 'debug' }] });
  const fwd = fwds[1]!;
  const [nseB, c2, c3, c4, c5, c6] = await createTestNetns(t, 'eetb', 'eetc2', 'eetc3', 'eetc4', 'eetc5', 'eetc6');
  const nsmgr = mesh.sock('nsmgr-1');
  const nse1 = mesh.procs.find((p) => p.name === 'nse-1')!;

  await t.test('the second connection to an endpoint is programmed from a VXLAN made before its answer', async () => {
    const first = await mesh.nsc({ name: 'nsc-1', nsmgr, workloadNetns: nsc, urls, netns: n1 });
    const second = await mesh.nsc({ name: 'nsc-2', nsmgr, workloadNetns: c2, urls, netns: n1 });
    assert.equal(count(fwd, '"early":true'), 1, fwd.tail(30));
    for (const [ns, c] of [[nsc, first.conn], [c2, second.conn]] as const) {
      assert.ok(ping(ns, ipOf(c.dstIp)), `client ${c.srcIp} -> endpoint`);
      assert.ok(ping(nse, ipOf(c.srcIp)), `endpoint -> client ${c.srcIp}`);
    }
    assert.equal(links(nse).length, 2);
    await Promise.all([first.proc.stop(), second.proc.stop()]);
    await waitFor('endpoint namespace to be empty', () => links(nse).length === 0, 5000);
  });

  await t.test('the endpoint back in another namespace (same name and URL): the guessed interface is removed, the answer programmed', async () => {
    await nse1.stop();
    // Four addresses: two connections; the third one is refused by its IPAM (next step).
    await mesh.nse({ name: 'nse-1', nsmgr: mesh.sock('nsmgr-2'), workloadNetns: nseB, cidr: '169.254.4.0/30', netns: n2 });
    const third = await mesh.nsc({ name: 'nsc-3', nsmgr, workloadNetns: c3, urls, netns: n1 });
    assert.equal(count(fwd, 'early endpoint tunnel does not fit the answer'), 1, fwd.tail(30));
    assert.deepEqual(links(nse), [], 'nothing stays where the endpoint was guessed');
    assert.equal(links(nseB).length, 1);
    assert.ok(ping(c3, ipOf(third.conn.dstIp)), 'client 3 -> endpoint');
    assert.ok(ping(nseB, ipOf(third.conn.srcIp)), 'endpoint -> client 3');
    // The answer that differed dropped what was learned; this one is programmed after its answer and learned again.
    const fourth = await mesh.nsc({ name: 'nsc-4', nsmgr, workloadNetns: c4, urls, netns: n1 });
    assert.ok(ping(c4, ipOf(fourth.conn.dstIp)), 'client 4 -> endpoint');
    assert.equal(count(fwd, '"early":true'), 1, 'neither was finished from a prepared interface');
  });

  await t.test('a Request the endpoint refuses (no addresses left) leaves no interface anywhere', async () => {
    const before = links(nseB).length;
    // The pool is exhausted: the next Request is prepared in B (learned from the last answer) and refused.
    const refused = await firstRefusedClient(mesh, [c5, c6], { nsmgr, urls, netns: n1 });
    assert.ok(refused, `the endpoint refused none: ${mesh.logs()}`);
    assert.ok(count(fwd, 'early endpoint tunnel removed: the Request was not programmed') >= 1, fwd.tail(30));
    assert.deepEqual(links(refused.ns), [], 'nothing in the client namespace');
    assert.ok(links(nseB).length >= before && links(nseB).length <= before + 1);
    await waitFor('only live connections in the endpoint namespace', () => links(nseB).length === mesh.procs.filter((p) => p.kind === 'nsc' && p.alive).length, 5000);
    assert.deepEqual(links(nse), []);
    assert.deepEqual(links(n1), ['eth0']);
    assert.deepEqual(links(n2), ['eth0']);
  });
});

test('early endpoint tunnel over ip (NSM_RTNL=0): prepared, pinged through, Close leaves nothing', async (t) => {
  const mesh = new Mesh(t);
  const env = { NSM_LOG_LEVEL: 'debug', NSM_RTNL: '0' };
  const { n1, n2, nsc, nse, fwds } = await twoNodes(t, mesh, { family: 4, cidr: '169.254.5.0/24', env: [env, env], tag: 'ip' });
  const [c2] = await createTestNetns(t, 'eetipc2');
  const nsmgr = mesh.sock('nsmgr-1');
  const first = await mesh.nsc({ name: 'nsc-1', nsmgr, workloadNetns: nsc, urls, netns: n1 });
  const second = await mesh.nsc({ name: 'nsc-2', nsmgr, workloadNetns: c2, urls, netns: n1 });
  assert.equal(count(fwds[1]!, '"early":true'), 1, fwds[1]!.tail(30));
  assert.ok(ping(c2, ipOf(second.conn.dstIp)), 'client 2 -> endpoint');
  assert.ok(ping(nse, ipOf(second.conn.srcIp)), 'endpoint -> client 2');
  assert.ok(ping(nsc, ipOf(first.conn.dstIp)), 'client 1 -> endpoint');
  await Promise.all([first.proc.stop(), second.proc.stop()]);
  await waitFor('endpoint namespace to be empty', () => links(nse).length === 0, 5000);
  assert.deepEqual(links(nsc), []);
  assert.deepEqual(links(c2), []);
  assert.deepEqual(links(n1), ['eth0']);
  assert.deepEqual(links(n2), ['eth0']);
});
