// Sandbox scenarios: heal after each component dies and comes back. The client
// runs the real heal element; its data-path check is the sandbox's fake liveness
// (the client's interface exists and its endpoint is alive).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from '../../src/api/index.js';
import { newSandbox, type SandboxClient } from './helpers/sandbox.js';
import { waitFor } from './helpers/wait.js';

/** Resolves with the connection once the client reports it UP again after HEALING (states from index `from` on). */
function healed(nsc: SandboxClient, conn: Connection, from: number): Promise<Connection> {
  return waitFor(`connection ${conn.id} healed`, () => {
    const after = nsc.states.slice(from).filter((s) => s.id === conn.id).map((s) => s.state);
    return after.includes('HEALING') && after.at(-1) === 'UP' ? nsc.conns.get(conn.id) : undefined;
  });
}

for (const side of ['local', 'remote'] as const) {
  test(`nsmgr restart (${side} side of a remote connection): the client re-requests the same path; the data plane stays as it is`, async (t) => {
    const sb = await newSandbox(t).setNodesCount(2).build();
    const [n1, n2] = sb.nodes;
    await n2!.newEndpoint({ name: 'nse-2' });
    const nsc = await n1!.newClient({ heal: true });
    const conn = await nsc.request();
    const links = sb.allLinks();
    const ops = n1!.kernel.ops.length + n2!.kernel.ops.length;

    const mark = nsc.states.length;
    await (side === 'local' ? n1 : n2)!.restartNsmgr();
    const back = await healed(nsc, conn, mark);
    assert.equal(back.networkServiceEndpointName, 'nse-2');
    assert.deepEqual(back.path!.pathSegments.map((s) => s.id), conn.path!.pathSegments.map((s) => s.id), 'same path, same ids');
    assert.equal((side === 'local' ? n1 : n2)!.nsmgr!.monitor.connections.size, 1, 'the new nsmgr holds it');
    assert.deepEqual(sb.allLinks(), links);
    assert.equal(n1!.kernel.ops.length + n2!.kernel.ops.length, ops, 'no kernel operation at all');
  });
}

test('forwarder restart: the new life adopts the links of the old one in place (nothing deleted or re-created)', async (t) => {
  const sb = await newSandbox(t).setNodesCount(1).build();
  const [node] = sb.nodes;
  await node!.newEndpoint({ name: 'nse-1' });
  const nsc = await node!.newClient({ heal: true });
  const conn = await nsc.request();
  const links = node!.kernel.list();
  const from = node!.kernel.ops.length;

  const mark = nsc.states.length;
  await node!.restartForwarder();
  const back = await healed(nsc, conn, mark);
  assert.equal(back.path!.pathSegments[2]!.name, 'forwarder-1');
  assert.deepEqual(node!.kernel.list(), links);
  const since = node!.kernel.ops.slice(from);
  assert.ok(since.some((o) => o.startsWith('createVeth')), 'the new life tried to create the veth');
  assert.deepEqual(since.filter((o) => o.startsWith('deleteLink')), [], '... found it already there, tagged as its own, and kept it');
  assert.equal(node!.forwarders.get('forwarder-1')!.monitor.connections.size, 1);

  await nsc.close(back);
  assert.deepEqual(node!.kernel.list(), [], 'the adopted links go on Close');
});

for (const where of ['local', 'remote'] as const) {
  test(`endpoint death (${where}): the broken data path makes the client reselect another endpoint; the old path is cleaned`, async (t) => {
    const sb = await newSandbox(t).setNodesCount(2).build();
    const node = sb.nodes[where === 'local' ? 0 : 1]!;
    const a = await node.newEndpoint({ name: 'nse-a' });
    const b = await node.newEndpoint({ name: 'nse-b' });
    const nsc = await sb.nodes[0]!.newClient({ heal: true, livenessIntervalMs: 20 });
    const conn = await nsc.request();
    const [dead, other] = conn.networkServiceEndpointName === 'nse-a' ? [a, b] : [b, a];

    const mark = nsc.states.length;
    await dead.stop();
    const back = await healed(nsc, conn, mark);
    assert.equal(back.networkServiceEndpointName, other.name);
    assert.equal(back.id, conn.id, 'the client keeps its connection id');
    // Two links: a veth pair locally, one VXLAN per node remotely.
    await waitFor('only the new path is programmed', () => sb.allLinks().length === 2 && sb.allLinks().every((l) => !l.includes(dead.netnsUrl)));
    assert.ok(nsc.link(back), "the client's interface is in place");
  });
}
