// E2E, one node: the forwarder makes a local connection's veth pair while the Request travels to the endpoint,
// where that endpoint's previous answer put its end. An endpoint that comes back in another namespace (same
// name and URL) answers differently, and an endpoint that refuses fails the Request: neither leaves a stray
// veth in any namespace (the one guessed, the one answered, the client's).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { firstRefusedClient } from '../helpers/refused-client.js';
import { createTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { freePort, ipOf, links, Mesh, waitFor, type MeshProcess } from '../helpers/mesh.js';

before(async () => {
  await sweepStaleTestNetns();
});

const logOf = (p: MeshProcess) => `${p.stdout}\n${p.stderr}`;
const count = (p: MeshProcess, what: string) => logOf(p).split('\n').filter((l) => l.includes(what)).length;

test('early veth: prepared from the last answer; a different answer or a failed Request leaves no stray veth', async (t) => {
  const mesh = new Mesh(t);
  const [node, nseA, nseB, c1, c2, c3, c4, c5, c6] = await createTestNetns(t, 'node', 'nsea', 'nseb', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6');
  const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
  const nsmgrUrl = mesh.sock('nsmgr');
  await mesh.registry({ listen: registryUrl, netns: node });
  await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: registryUrl, netns: node });
  // Debug lines say what the early path did.
  const fwd = await mesh.forwarder({ name: 'forwarder-1', listen: mesh.sock('forwarder'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1', netns: node, env: { NSM_LOG_LEVEL: 'debug' } });
  const urls = ['kernel://icmp-responder/nsm-1'];
  let nse = await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nseA, cidr: '169.254.1.0/24', netns: node });

  await t.test('the second connection to an endpoint is programmed from a pair made before its answer', async () => {
    const first = await mesh.nsc({ name: 'nsc-1', nsmgr: nsmgrUrl, workloadNetns: c1, urls });
    const second = await mesh.nsc({ name: 'nsc-2', nsmgr: nsmgrUrl, workloadNetns: c2, urls });
    assert.equal(count(fwd, '"early":true'), 1, fwd.tail(30));
    assert.ok(ping(c2, ipOf(second.conn.dstIp)), 'client 2 -> endpoint');
    assert.ok(ping(nseA, ipOf(second.conn.srcIp)), 'endpoint -> client 2');
    assert.equal(links(nseA).length, 2);
    await Promise.all([first.proc.stop(), second.proc.stop()]);
    await waitFor('endpoint namespace A to be empty', () => links(nseA).length === 0, 5000);
  });

  await t.test('the endpoint back in another namespace (same name and URL): the guessed pair is removed, the answer programmed', async () => {
    await nse.stop();
    // Four addresses: two connections (a pair each); the third one is refused by its IPAM (next step).
    nse = await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nseB, cidr: '169.254.2.0/30', netns: node });
    const third = await mesh.nsc({ name: 'nsc-3', nsmgr: nsmgrUrl, workloadNetns: c3, urls });
    assert.equal(count(fwd, 'early veth does not fit the answer'), 1, fwd.tail(30));
    assert.deepEqual(links(nseA), [], 'nothing stays where the endpoint was guessed');
    assert.equal(links(nseB).length, 1);
    assert.deepEqual(links(c3), ['nsm-1']);
    assert.ok(ping(c3, ipOf(third.conn.dstIp)), 'client 3 -> endpoint');
    // The answer that differed dropped what was learned; this one is programmed after its answer and learned again.
    const fourth = await mesh.nsc({ name: 'nsc-4', nsmgr: nsmgrUrl, workloadNetns: c4, urls });
    assert.ok(ping(c4, ipOf(fourth.conn.dstIp)), 'client 4 -> endpoint');
    assert.equal(count(fwd, '"early":true'), 1, 'neither was finished from a prepared pair');
  });

  await t.test('a Request the endpoint refuses (no addresses left) leaves no veth in either namespace', async () => {
    const before = links(nseB).length;
    // The pool is exhausted: the next Request is prepared in B (learned from the last answer) and refused.
    const refused = await firstRefusedClient(mesh, [c5, c6], { nsmgr: nsmgrUrl, urls });
    assert.ok(refused, `the endpoint refused none: ${mesh.logs()}`);
    assert.ok(count(fwd, 'early veth removed: the Request was not programmed') >= 1, fwd.tail(30));
    assert.deepEqual(links(refused.ns), [], 'nothing in the client namespace');
    assert.ok(links(nseB).length >= before && links(nseB).length <= before + 1);
    await waitFor('only live connections in the endpoint namespace', () => links(nseB).length === mesh.procs.filter((p) => p.kind === 'nsc' && p.alive).length, 5000);
    assert.deepEqual(links(nseA), []);
    assert.deepEqual(links(node), []);
  });
});
