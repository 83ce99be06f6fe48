// E2E fault test (issue 19 item 2): the forwarder is SIGKILLed at a random point of a
// Request (0 to 1.2 times a normal request's duration, measured first; one kill in each of 16 equal
// slices of that span, so the kills cover it evenly), 16 times, and restarted each time. After the sweep period (forwarder
// --sweep-after 3s, endpoint --orphan-grace 3s) no interface is left in any namespace,
// the endpoint holds no connection (so no address pair: the next connection gets the
// pool's first pair again), every other process lives, and a new connection works.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createClient } from 'nice-grpc';
import { channelTo, ConnectionEventType, MonitorConnectionDefinition, dropChannel, type Connection } from '../../../src/api/index.js';
import { UnavailableError } from '../../../src/api/errors.js';
import { MeshClient } from '../../../src/components/client.js';
import { createTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { freePort, ipOf, links, Mesh, type MeshProcess, sleep, waitFor } from '../helpers/mesh.js';

// 16 kills, stratified: every sixteenth of the request's span gets one (40 uniformly random kills could leave gaps),
// with 40 % of the forwarder restarts the former 40 kills cost (each restart is a process start).
const KILLS = 16;

before(async () => {
  await sweepStaleTestNetns();
});

/** How many connections the endpoint holds (its MonitorConnections initial state). */
async function endpointConnections(url: string): Promise<number> {
  const abort = new AbortController();
  try {
    for await (const ev of createClient(MonitorConnectionDefinition, channelTo(url)).monitorConnections({ pathSegments: [] }, { signal: abort.signal })) {
      if (ev.type === ConnectionEventType.INITIAL_STATE_TRANSFER) return Object.keys(ev.connections).length;
    }
    return -1;
  } finally {
    abort.abort();
  }
}

test(`forwarder SIGKILLed ${KILLS} times mid-request: nothing left after the sweep period`, async (t) => {
  const mesh = new Mesh(t, { lifetime: '60s' });
  const [node, nse, c1] = await createTestNetns(t, 'node', 'nse', 'c1');
  const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
  const nsmgrUrl = mesh.sock('nsmgr');
  const fwdUrl = mesh.sock('forwarder');
  const nseUrl = mesh.sock('nse-nse-1');
  const registry = await mesh.registry({ listen: registryUrl, netns: node });
  const nsmgr = await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: registryUrl, netns: node });
  const startForwarder = async (): Promise<MeshProcess> => {
    const p = mesh.spawn('forwarder-1', ['forwarder', '--name', 'forwarder-1', '--listen', fwdUrl, '--nsmgr', nsmgrUrl, '--underlay-ip', '198.18.0.1', '--max-token-lifetime', '60s'], {
      netns: node,
      env: { NSM_SWEEP_AFTER: '3s' },
    });
    await p.waitLine(/^forwarder .* listening on /);
    return p;
  };
  let fwd = await startForwarder();
  const endpoint = mesh.spawn('nse-1', ['nse', 'icmp-responder', '--name', 'nse-1', '--nsmgr', nsmgrUrl, '--netns', nse, '--listen', nseUrl, '--cidr', '169.254.7.0/24', '--max-token-lifetime', '60s'], {
    netns: node,
    env: { NSM_ORPHAN_GRACE: '3s' },
  });
  await endpoint.waitLine(/^nse .* serving /);
  const client = await MeshClient.create({ name: 'nsc-fault', nsmgrUrl, heal: false });
  t.after(() => {
    dropChannel(nseUrl);
  });
  const netnsUrl = `file:///var/run/netns/${c1}`;

  // How long a normal Request takes here (the machine may be loaded): kills land across it.
  const t0 = performance.now();
  const warm = await client.request({ service: 'icmp-responder', ifname: 'nsm-warm', netnsUrl });
  const requestMs = performance.now() - t0;
  await client.close(warm);

  let ok = 0;
  let failed = 0;
  const started = Date.now();
  for (let i = 0; i < KILLS; i++) {
    const delay = ((i + Math.random()) / KILLS) * requestMs * 1.2;
    const pending = client.request({ service: 'icmp-responder', ifname: `nsm-${i}`, netnsUrl, timeoutMs: 10_000 }).then(
      (conn) => ({ conn }),
      (err: unknown) => ({ err }),
    );
    await sleep(delay);
    assert.equal((await fwd.kill()).signal, 'SIGKILL');
    const r = await pending;
    if ('conn' in r) {
      ok++;
      await client.close(r.conn, 5000).catch(() => undefined);
    } else failed++;
    fwd = await startForwarder();
  }
  const leftBehind = links(c1).length;
  t.diagnostic(`${KILLS} kills (request ${requestMs.toFixed(0)} ms) in ${((Date.now() - started) / 1000).toFixed(1)} s: ${ok} requests finished before the kill, ${failed} failed; ${leftBehind} interfaces and ${await endpointConnections(nseUrl)} endpoint connections left right after the last restart`);

  // The sweep period: the last forwarder life sweeps after 3 s, the endpoint releases orphans after 3 s.
  const ms = await waitFor(
    'no interface and no endpoint connection left',
    async () => links(c1).length === 0 && links(nse).length === 0 && (await endpointConnections(nseUrl)) === 0,
    20_000,
    250,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\nclient ns: ${links(c1).join(' ')}\nendpoint ns: ${links(nse).join(' ')}\n${mesh.logs(20)}`);
  });
  t.diagnostic(`clean ${ms} ms after the last restart`);
  assert.deepEqual(links(node), [], 'nothing in the node namespace either');
  for (const p of [registry, nsmgr, endpoint, fwd]) assert.ok(p.alive, `${p.name} is alive`);

  // Every address pair went back to the pool: a new connection gets the first pair, and works.
  // Up to about 1 s after the last restart the nsmgr's channel to the forwarder may still be in its reconnect
  // backoff (grpc-js fails calls on it at once with the last ECONNREFUSED): retry UNAVAILABLE for a few seconds.
  let conn: Connection | undefined;
  const until = Date.now() + 5000;
  while (!conn) {
    try {
      conn = await client.request({ service: 'icmp-responder', ifname: 'nsm-final', netnsUrl });
    } catch (err) {
      if (!(err instanceof UnavailableError) || Date.now() > until) throw err;
      await sleep(200);
    }
  }
  const ip = conn.context!.ipContext!;
  assert.deepEqual([...ip.srcIpAddrs, ...ip.dstIpAddrs].sort(), ['169.254.7.0/32', '169.254.7.1/32'], 'the pool is whole again');
  assert.ok(ping(c1, ipOf(ip.dstIpAddrs[0]!)));
  await client.close(conn);
  await waitFor('the final connection removed', () => links(c1).length === 0 && links(nse).length === 0, 5000);
});
