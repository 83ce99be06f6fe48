// The dashboard's view of an nsmgr's connection: id, service, state name, mechanism and each path
// segment's name and counters, ready for the dashboard's graph functions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Connection, State } from '../../../src/api/index.js';
import { toMonitored } from '../../../src/cluster/inspect/dashboard-input.js';
import { connectionRows } from '../../../src/observability/dashboard/index.js';

test('dashboard input: a monitored connection keeps its path, state and counters', () => {
  const conn = Connection.fromPartial({
    id: 'seg-2',
    networkService: 'svc',
    state: State.UP,
    mechanism: { cls: 'LOCAL', type: 'KERNEL' },
    path: {
      index: 1,
      pathSegments: [
        { name: 'nsc', id: 'seg-1' },
        { name: 'nsmgr-1', id: 'seg-2' },
        { name: 'fwd-1', id: 'seg-3', metrics: { 'nsm-1_rx_bytes': '42', 'nsm-1_tx_bytes': '7' } },
        { name: 'nse', id: 'seg-4' },
      ],
    },
  });
  const m = toMonitored({ id: 'seg-1', conn, nsmgrs: ['unix:///x'] });
  assert.deepEqual([m.id, m.service, m.state, m.mechanism], ['seg-1', 'svc', 'UP', 'KERNEL']);
  assert.deepEqual(m.segments.map((s) => s.name), ['nsc', 'nsmgr-1', 'fwd-1', 'nse']);
  const [row] = connectionRows({ status: undefined, monitored: [m], errors: [], time: 0 });
  assert.deepEqual([row!.client, row!.endpoint, row!.source, row!.traffic?.rxBytes, row!.traffic?.txBytes], ['nsc', 'nse', 'monitor', 42, 7]);
});
