// Observability: the prom-client recorder, registry and data-plane metrics, per-connection counters,
// /proc/net/dev parsing and the HTTP listener, scraped over a real loopback socket.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkService, NetworkServiceQuery } from '../../../src/api/index.js';
import { registryChain, registryElement } from '../../../src/sdk/core/registry-chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { InvalidArgumentError } from '../../../src/api/errors.js';
import { parseNetDev } from '../../../src/dataplane/link-stats.js';
import { ConnectionCounters, MeshMetrics, RegistryMetrics, measuredDataplane, parseListen, startMetricsServer } from '../../../src/observability/index.js';
import type { ManagedDataplane } from '../../../src/sdk/networkservice/managed-dataplane.js';

/** The value of the first sample of `series` (NAME{a="b",...}: name and every label given, in any order). */
const value = (text: string, series: string) => {
  const [name, rest = ''] = series.split('{');
  const labels = rest.replace(/}$/, '').split(',').filter(Boolean);
  const line = text.split('\n').find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && labels.every((x) => l.includes(x)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0
 nsm-1:    1500      10    0    1    0     0          0         0     3000      20    0    2    0     0       0          0
`;

describe('observability metrics', () => {
  it('MeshMetrics records hops, heals and reselects with component labels', async () => {
    const m = new MeshMetrics({ component: 'nsmgr-1', kind: 'nsmgr', processMetrics: false });
    m.hop('request', 'OK', 0.002);
    m.hop('request', 'NOT_FOUND', 0.001);
    m.heal();
    m.reselect();
    m.activeConnections(() => 3);
    const text = await m.text();
    assert.equal(value(text, 'nsm_hop_calls_total{method="request",code="OK",component="nsmgr-1",kind="nsmgr"}'), 1);
    assert.equal(value(text, 'nsm_hop_calls_total{method="request",code="NOT_FOUND"'), 1);
    assert.equal(value(text, 'nsm_hop_duration_seconds_count{method="request"'), 2);
    assert.equal(value(text, 'nsm_heals_total'), 1);
    assert.equal(value(text, 'nsm_reselects_total'), 1);
    assert.equal(value(text, 'nsm_active_connections'), 3);
  });

  it('RegistryMetrics counts calls, times Finds and reads sizes at scrape time', async () => {
    const m = new MeshMetrics({ component: 'registry', kind: 'registry', processMetrics: false });
    const rm = new RegistryMetrics(m);
    rm.entries(async () => ({ ns: 2, nse: 5 }));
    const h = rm.wrap(
      'ns',
      registryChain(
        registryElement({
          register: async (item: NetworkService) => {
            if (!item.name) throw new InvalidArgumentError('name is empty');
            return item;
          },
          find: async function* () {
            yield { networkService: NetworkService.fromPartial({ name: 'a' }), deleted: false };
          },
        }),
      ),
    );
    await h.register(NetworkService.fromPartial({ name: 'a' }), newCtx());
    await assert.rejects(h.register(NetworkService.fromPartial({}), newCtx()));
    for await (const _ of h.find(NetworkServiceQuery.fromPartial({ watch: false }), newCtx())) void _;
    const text = await m.text();
    assert.equal(value(text, 'nsm_registry_calls_total{registry="ns",method="register",code="OK"'), 1);
    assert.equal(value(text, 'nsm_registry_calls_total{registry="ns",method="register",code="INVALID_ARGUMENT"'), 1);
    assert.equal(value(text, 'nsm_registry_find_duration_seconds_count{registry="ns"'), 1);
    assert.equal(value(text, 'nsm_registry_entries{registry="nse"'), 5);
  });

  it('measuredDataplane counts operations by result', async () => {
    const m = new MeshMetrics({ component: 'fwd', kind: 'forwarder', processMetrics: false });
    const fake = {
      createVeth: async () => {},
      createVxlan: async () => {},
      addAddress: async () => {},
      addRoute: async () => { throw new Error('boom'); },
      deleteLink: async () => true,
      linksTagged: () => [{ netns: 'ns1', name: 'nsm-1' }],
    } satisfies ManagedDataplane;
    const dp = measuredDataplane(fake, m);
    await dp.addAddress('ns1', 'nsm-1', '169.254.0.1/32');
    await assert.rejects(dp.addRoute('ns1', { prefix: '169.254.0.0/32', dev: 'nsm-1' }), /boom/);
    assert.deepEqual(dp.linksTagged!('x'), [{ netns: 'ns1', name: 'nsm-1' }]);
    const text = await m.text();
    assert.equal(value(text, 'nsm_dataplane_operations_total{op="addAddress",result="ok"'), 1);
    assert.equal(value(text, 'nsm_dataplane_operations_total{op="addRoute",result="error"'), 1);
  });

  it('parses /proc/net/dev', () => {
    const c = parseNetDev(NET_DEV);
    assert.deepEqual(c.get('nsm-1'), { rxBytes: 1500, rxPackets: 10, rxDrops: 1, txBytes: 3000, txPackets: 20, txDrops: 2 });
    assert.equal(c.size, 2);
  });

  it('ConnectionCounters: segment metrics with upstream keys, and Prometheus series per connection', async () => {
    const counters = new ConnectionCounters({
      connectionIds: () => ['f1'],
      linksOf: (id) => (id === 'f1' ? [{ netns: 'ns-a', name: 'nsm-1' }] : []),
      read: async () => parseNetDev(NET_DEV),
    });
    assert.deepEqual(await counters.segmentMetrics('f1'), { 'nsm-1_rx_bytes': '1500', 'nsm-1_tx_bytes': '3000', 'nsm-1_rx_packets': '10', 'nsm-1_tx_packets': '20', 'nsm-1_drops': '3' });
    assert.equal(await counters.segmentMetrics('other'), undefined);
    // links made in this Request: zeros under the same keys, the kernel not asked
    const unread = new ConnectionCounters({ connectionIds: () => ['f1'], linksOf: () => [{ netns: 'ns-a', name: 'nsm-1' }], read: async () => assert.fail('read') });
    assert.deepEqual(await unread.segmentMetrics('f1', { fresh: true }), { 'nsm-1_rx_bytes': '0', 'nsm-1_tx_bytes': '0', 'nsm-1_rx_packets': '0', 'nsm-1_tx_packets': '0', 'nsm-1_drops': '0' });
    const m = new MeshMetrics({ component: 'fwd', kind: 'forwarder', processMetrics: false });
    counters.register(m);
    const text = await m.text();
    assert.equal(value(text, 'nsm_connection_rx_bytes_total{connection="f1",interface="nsm-1"'), 1500);
    assert.equal(value(text, 'nsm_connection_tx_packets_total{connection="f1",interface="nsm-1"'), 20);
  });

  it('parseListen accepts HOST:PORT forms and refuses others', () => {
    assert.deepEqual(parseListen('127.0.0.1:9090'), { host: '127.0.0.1', port: 9090 });
    assert.deepEqual(parseListen('[::1]:9090'), { host: '::1', port: 9090 });
    assert.deepEqual(parseListen(':9090'), { host: '0.0.0.0', port: 9090 });
    assert.throws(() => parseListen('9090'), /HOST:PORT/);
    assert.throws(() => parseListen('a:99999'), /HOST:PORT/);
  });

  it('serves /metrics over HTTP and 404 elsewhere', async () => {
    const m = new MeshMetrics({ component: 'nse-1', kind: 'endpoint' });
    m.hop('close', 'OK', 0.001);
    const s = await startMetricsServer('127.0.0.1:0', m.registry);
    try {
      const res = await fetch(s.url);
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.equal(value(text, 'nsm_hop_calls_total{method="close",code="OK"'), 1);
      assert.match(text, /nsm_process_cpu_user_seconds_total/);
      assert.equal((await fetch(s.url.replace('/metrics', '/x'))).status, 404);
    } finally {
      await s.stop();
    }
  });
});
