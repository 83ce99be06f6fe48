// E2E (issue 15, security off): attacks that need no identity are refused on a real one-node
// mesh: monitoring hands out no tokens; closing a connection one is not on (no token, a token
// signed with another key) is PERMISSION_DENIED and the victim keeps
// pinging; an interface in the node's own namespace is refused; another process cannot
// unregister or re-point an endpoint through the nsmgr.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { before, test } from 'node:test';
import { createClient, Metadata } from 'nice-grpc';
import { Connection, ConnectionEventType, MonitorConnectionDefinition, NetworkServiceDefinition, NetworkServiceEndpointRegistryDefinition } from '../../../src/api/index.js';
import { channelTo } from '../../../src/api/transport.js';
import { MeshClient } from '../../../src/components/client.js';
import { newTokenSigner } from '../../../src/sdk/core/token.js';
import { createTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { ipOf, links, Mesh } from '../helpers/mesh.js';
import { oneNode } from '../helpers/one-node.js';

before(async () => {
  await sweepStaleTestNetns();
});

const denied = (check: RegExp) => (err: unknown) => {
  assert.equal((err as { code?: number }).code, 7, String(err)); // PERMISSION_DENIED
  assert.match(String((err as Error).message), check);
  return true;
};

async function monitored(url: string): Promise<Connection[]> {
  const ac = new AbortController();
  try {
    for await (const ev of createClient(MonitorConnectionDefinition, channelTo(url)).monitorConnections({ pathSegments: [] }, { signal: ac.signal })) {
      if (ev.type === ConnectionEventType.INITIAL_STATE_TRANSFER) return Object.values(ev.connections);
    }
    return [];
  } finally {
    ac.abort();
  }
}

test('security off: no tokens from monitoring, no Close from outside the path, no node namespace, no registry takeover', async (t) => {
  const mesh = new Mesh(t);
  const [node, nse, c1] = await createTestNetns(t, 'node', 'nse', 'c1');
  const { nsmgrUrl } = await oneNode(mesh, node);
  await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.12.0/24', netns: node });
  const victim = await mesh.nsc({ name: 'nsc-1', nsmgr: nsmgrUrl, workloadNetns: c1, urls: ['kernel://icmp-responder/nsm-1'] });
  const dst = ipOf(victim.conn.dstIp);
  assert.ok(ping(c1, dst));

  // 1. Monitoring with an empty scope: the connection is listed (status, heal need it), its tokens are not.
  const [seen] = await monitored(nsmgrUrl);
  assert.ok(seen, 'the nsmgr lists the connection');
  assert.deepEqual(seen.path!.pathSegments.map((s) => s.token), seen.path!.pathSegments.map(() => ''), 'no token handed out');

  // 2. Close as if from the client's segment: no token, or a token signed with another process's key.
  const asClient = Connection.fromPartial({ ...seen, id: seen.path!.pathSegments[0]!.id, path: { ...seen.path!, index: 0 } });
  const ns = createClient(NetworkServiceDefinition, channelTo(nsmgrUrl));
  await assert.rejects(ns.close(asClient), denied(/^.*connection-owner: Close of connection .* no nsm-client-token/));
  const forged = (await (await newTokenSigner()).sign('nsc-1')).token;
  await assert.rejects(ns.close(asClient, { metadata: new Metadata({ 'nsm-client-token': forged }) }), denied(/connection-owner: .*not signed by the key/));
  const other = await MeshClient.create({ name: 'nsc-1', nsmgrUrl, heal: false });
  t.after(() => other.shutdown());
  assert.ok(ping(c1, dst), 'the victim still pings');
  assert.deepEqual(links(c1), ['nsm-1']);

  // 3. An interface in the node's own namespace (pid 1's, the host's) is refused before anything is made.
  // (The nsmgr runs in namespace `node`: "host" is that one for it. pid 1's may be unreadable in a container, then refused anyway.)
  for (const netnsUrl of ['host', `file:///var/run/netns/${node}`]) {
    await assert.rejects(other.request({ service: 'icmp-responder', ifname: 'nsm-evil', netnsUrl, timeoutMs: 5000 }), denied(/namespace-ownership: .* node's own network namespace/));
  }
  await assert.rejects(other.request({ service: 'icmp-responder', ifname: 'nsm-evil', netnsUrl: 'file:///proc/1/ns/net', timeoutMs: 5000 }));
  assert.throws(() => execFileSync('ip', ['link', 'show', 'nsm-evil'], { stdio: 'pipe' }), 'nothing created in the host namespace');

  // 4. Through the nsmgr's registry: unregister or re-point the victim's endpoint.
  const reg = createClient(NetworkServiceEndpointRegistryDefinition, channelTo(nsmgrUrl));
  await assert.rejects(reg.unregister({ name: 'nse-1', networkServiceNames: ['icmp-responder'] }), denied(/registry-owner: Unregister of nse-1 refused/));
  await assert.rejects(reg.register({ name: 'nse-1', networkServiceNames: ['icmp-responder'], url: 'tcp://127.0.0.1:1' }), denied(/registry-owner: Register of nse-1 refused/));
  assert.ok(ping(c1, dst), 'the victim still pings after every attempt');
});
