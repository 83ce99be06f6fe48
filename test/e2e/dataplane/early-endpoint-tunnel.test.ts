// E2E on the real kernel, one process: the endpoint-side forwarder's chain (forwarder-mechanisms, program-dataplane)
// over a KernelDriver whose VXLAN sockets live in node 2's namespace, with a stand-in local endpoint whose answers
// change (its MTU, its namespace), and client-side VXLANs made by hand on node 1. The interface made before each
// answer carries traffic when it fits; an answer with another MTU or namespace replaces it, and a refused Request
// removes it: nothing is left in any namespace. (Endpoints of `nsm` do not set an MTU; this one does.)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { NetworkServiceRequest } from '../../../src/api/index.js';
import { KernelDriver } from '../../../src/dataplane/index.js';
import { mechanismRegistry } from '../../../src/dataplane/mechanisms/index.js';
import { begin } from '../../../src/sdk/core/begin.js';
import { chain, element } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { endpointIfName, forwarderMechanisms } from '../../../src/sdk/networkservice/forwarder-mechanisms.js';
import { programDataplane, type ForwarderDataplane } from '../../../src/sdk/networkservice/program-dataplane.js';
import { kernelMechanism, P, vxlanMechanism } from '../../../src/sdk/tools/mechanisms.js';
import { nextUrlIs } from '../../unit/networkservice/helpers.js';
import { numberedIpContext } from '../../unit/networkservice/recording-dataplane.js';
import { createTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { links } from '../helpers/mesh.js';

const driver = new KernelDriver();
before(async () => {
  await sweepStaleTestNetns();
});
after(() => driver.close());

/** Connection i's id (its endpoint interface: nsm-0000000i). */
const idOf = (i: number) => `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`;
const mtuOf = (ns: string, name: string) => Number(/ mtu (\d+)/.exec(execFileSync('ip', ['-n', ns, '-o', 'link', 'show', 'dev', name], { encoding: 'utf8' }))?.[1]);

test('endpoint-side early VXLAN on the real kernel: the MTU and the namespace the endpoint answers with decide; nothing is left', async (t) => {
  const [n1, n2, ul, client, nseA, nseB] = await createTestNetns(t, 'een1', 'een2', 'eeul', 'eec', 'eea', 'eeb');
  await driver.createBridge(ul, 'br0', { alias: 'nsm-underlay' });
  for (const [i, n] of [n1, n2].entries()) {
    await driver.createVeth({ name: 'eth0', netns: n, peerName: `u${i + 1}`, peerNetns: ul, alias: `underlay:${i + 1}` });
    await driver.addToBridge(ul, `u${i + 1}`, 'br0');
    await driver.addAddress(n, 'eth0', `198.18.0.${i + 1}/24`);
  }
  assert.ok(ping(n1, '198.18.0.2'), 'underlay');

  // Node 2's forwarder data plane: the VXLANs' sockets in node 2 (as when the forwarder runs there).
  const dp: ForwarderDataplane = {
    createVeth: (spec) => driver.createVeth(spec),
    createVxlan: (spec) => driver.createVxlan({ ...spec, netns: spec.netns ?? n2 }),
    setVxlanRemote: (netns, name, remote) => driver.setVxlanRemote(netns, name, remote),
    addAddress: (netns, ifname, cidr) => driver.addAddress(netns, ifname, cidr),
    addRoute: (netns, route) => driver.addRoute(netns, route),
    deleteLink: (netns, name) => driver.deleteLink(netns, name),
    linkInfo: (netns, name) => driver.linkInfo(netns, name),
  };
  const reg = mechanismRegistry(['vxlan']);
  let answer: { netns: string; mtu: number; refuse?: boolean } = { netns: nseA, mtu: 1400 };
  const preparedWhenAsked: string[][] = [];
  const endpoint = element({
    async request(req) {
      // Give the preparation (on the rtnetlink worker) time to land, as an endpoint's round trip does.
      await new Promise((r) => setTimeout(r, 50));
      preparedWhenAsked.push([...links(nseA), ...links(nseB)]);
      if (answer.refuse) throw new Error('no addresses left');
      const conn = req.connection!;
      conn.mechanism = kernelMechanism({ ...req.mechanismPreferences[0]!.parameters, [P.inodeURL]: `file:///var/run/netns/${answer.netns}` });
      conn.context = { ipContext: numberedIpContext(20 + Number(conn.id.slice(0, 8))), dnsContext: undefined, ethernetContext: undefined, extraContext: {}, MTU: answer.mtu };
      return conn;
    },
    async close() {
      return undefined;
    },
  });
  const handler = chain(
    begin(),
    nextUrlIs('unix:///run/nsm/eet-nse.sock'),
    forwarderMechanisms({ underlayIp: '198.18.0.2', mechanisms: reg }),
    programDataplane(dp, { underlayIp: '198.18.0.2', mechanisms: reg }),
    endpoint,
  );
  /** Connection i: its client-side VXLAN made by hand on node 1 (VNI 700+i), then the Request through node 2's chain. */
  const connect = async (i: number) => {
    const id = idOf(i);
    const vni = 700 + i;
    const ip = numberedIpContext(20 + i);
    const name = `vx${i}`;
    await driver.createVxlan({ name, netns: n1, targetNetns: client, vni, local: '198.18.0.1', remote: '198.18.0.2', alias: `test:${id}`, mtu: 1400 });
    await driver.addAddress(client, name, ip.srcIpAddrs[0]!);
    await driver.addRoute(client, { prefix: ip.dstIpAddrs[0]!, dev: name });
    const conn = await handler.request(
      NetworkServiceRequest.fromPartial({ connection: { id, networkServiceEndpointName: 'eet-nse' }, mechanismPreferences: [vxlanMechanism({ [P.srcIp]: '198.18.0.1', [P.vni]: String(vni) })] }),
      newCtx(),
    );
    return { conn, dst: ip.dstIpAddrs[0]!.split('/')[0]!, src: ip.srcIpAddrs[0]!.split('/')[0]!, ifname: endpointIfName(id) };
  };

  await t.test('the second connection is made before its answer with the MTU the endpoint answered, and pings', async () => {
    const first = await connect(0);
    assert.deepEqual(preparedWhenAsked.at(-1), [], 'nothing known before the first answer');
    const second = await connect(1);
    assert.deepEqual(preparedWhenAsked.at(-1), [first.ifname, second.ifname], 'made before the answer');
    assert.equal(mtuOf(nseA, second.ifname), 1400);
    assert.ok(ping(client, second.dst), 'client -> endpoint (prepared)');
    assert.ok(ping(nseA, second.src), 'endpoint -> client (prepared)');
    assert.ok(ping(client, first.dst), 'client -> endpoint (after the answer)');
  });

  await t.test('an answer with another MTU replaces the prepared interface; it still pings', async () => {
    answer = { netns: nseA, mtu: 1300 };
    const third = await connect(2);
    assert.ok(preparedWhenAsked.at(-1)!.includes(third.ifname), 'prepared with the learned MTU');
    assert.equal(mtuOf(nseA, third.ifname), 1300);
    assert.ok(ping(client, third.dst), 'client -> endpoint');
    assert.equal(links(nseA).length, 3);
  });

  await t.test('an answer from another namespace leaves nothing in the guessed one; a refused Request leaves nothing at all', async () => {
    // The MTU change dropped what was learned; the next answer (1300 in A) is learned again.
    await connect(3);
    answer = { netns: nseB, mtu: 1300 };
    const fifth = await connect(4);
    assert.ok(preparedWhenAsked.at(-1)!.includes(fifth.ifname), 'prepared in A');
    assert.ok(!links(nseA).includes(fifth.ifname), 'nothing left in A');
    assert.deepEqual(links(nseB), [fifth.ifname]);
    assert.equal(mtuOf(nseB, fifth.ifname), 1300);
    assert.ok(ping(client, fifth.dst), 'client -> endpoint in B');
    // That answer differed (dropped what was learned); the next one is learned (B), and the one after it refused.
    const sixth = await connect(5);
    assert.ok(ping(client, sixth.dst), 'client -> endpoint in B (after the answer)');
    answer = { netns: nseB, mtu: 1300, refuse: true };
    await assert.rejects(connect(6), /no addresses left/);
    assert.ok(preparedWhenAsked.at(-1)!.includes(endpointIfName(idOf(6))), 'the refused one was prepared in B');
    assert.deepEqual(links(nseB).sort(), [fifth.ifname, sixth.ifname].sort(), 'the refused one is gone; the live ones stay');
    assert.equal(links(nseA).length, 4);
    assert.deepEqual(links(n2), ['eth0']);
  });
});
