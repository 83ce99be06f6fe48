// The dashboard's pure functions: status + monitor streams -> graph elements (every component, one
// edge per hop, mechanisms on hops), connection rows (monitor-only connections, traffic) and counters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { componentId, connectionRows, dashboardView, graphElements, hopId, nodeId, summarize, trafficOf } from '../../../src/observability/dashboard/index.js';
import { demoInput } from './dashboard-fixture.js';

test('dashboard graph: a box per node, every component inside its node, the registry outside', () => {
  const input = demoInput();
  const els = graphElements(input, connectionRows(input));
  const nodes = els.filter((e) => e.group === 'nodes');
  assert.deepEqual(nodes.filter((n) => n.data.kind === 'node').map((n) => n.data.id), [nodeId('node-1'), nodeId('node-2')]);
  for (const c of input.status!.components) {
    const el = nodes.find((n) => n.data.id === componentId(c.name));
    assert.ok(el, c.name);
    assert.equal(el.data.parent, c.node ? nodeId(c.node) : undefined);
    assert.equal(el.data.kind, c.kind);
    assert.ok(el.position, `${c.name} has a preset position`);
  }
  // A name on a path that no component has (a client started by hand) is drawn as external.
  assert.equal(nodes.find((n) => n.data.id === componentId('by-hand'))?.data.kind, 'external');
  const ids = els.map((e) => e.data.id);
  assert.equal(new Set(ids).size, ids.length, 'element ids are unique');
});

test('dashboard graph: one edge per hop with the state, the local and the remote mechanism', () => {
  const input = demoInput({ nsc2State: 'HEALING' });
  const els = graphElements(input, connectionRows(input));
  const hops = (id: string) => els.filter((e) => e.group === 'edges' && e.data.conn === id);
  assert.equal(hops('c1').length, 3);
  const c2 = hops('c2');
  assert.deepEqual(c2.map((e) => [e.data.source, e.data.target]), [
    [componentId('nsc-2'), componentId('nsmgr-node-1')],
    [componentId('nsmgr-node-1'), componentId('forwarder-node-1')],
    [componentId('forwarder-node-1'), componentId('nsmgr-node-2')],
    [componentId('nsmgr-node-2'), componentId('forwarder-node-2')],
    [componentId('forwarder-node-2'), componentId('nse-b')],
  ]);
  assert.deepEqual(c2.map((e) => e.data.label), ['KERNEL', '', 'VXLAN', '', 'KERNEL']);
  assert.ok(c2.every((e) => e.data.state === 'HEALING' && e.classes === 'hop HEALING'));
  assert.equal(c2[0]!.data.id, hopId('c2', 0));
  // nsmgrs link to the registry (control plane).
  assert.equal(els.filter((e) => e.classes === 'control').length, 2);
});

test('dashboard rows: scenario connections first, monitor-only ones after, traffic from segment metrics', () => {
  const rows = connectionRows(demoInput());
  assert.deepEqual(rows.map((r) => [r.id, r.source, r.client]), [['c1', 'nsm up', 'nsc-1'], ['c2', 'nsm up', 'nsc-2'], ['h1', 'monitor', 'by-hand']]);
  assert.deepEqual(rows[0]!.traffic, { rxBytes: 1000, txBytes: 2000, rxPackets: 10, txPackets: 20, from: 'forwarder-node-1 nsm-1' });
  assert.equal(rows[0]!.counters['forwarder-node-1 nsm-1_drops'], '0');
  assert.equal(rows[1]!.traffic, undefined);
  assert.deepEqual(rows[2]!.path, ['by-hand', 'nsmgr-node-2', 'forwarder-node-2', 'nse-b']);
  assert.equal(rows[2]!.endpoint, 'nse-b');
  assert.equal(trafficOf([{ name: 'x', id: 'x', metrics: { foo: '1' } }]), undefined);
});

test('dashboard summary: counts by state, running components, restarts, traffic', () => {
  const input = demoInput({ nsc2State: 'HEALING' });
  input.status!.components[2]!.state = 'stopped';
  input.status!.components[2]!.restarts = 2;
  const s = summarize(input, connectionRows(input));
  assert.deepEqual(s, { phase: 'up', components: 9, running: 8, restarts: 2, connections: 3, up: 2, down: 0, healing: 1, rxBytes: 1000, txBytes: 2000 });
});

test('dashboard view of a mesh that is down: empty, phase down, the error kept', () => {
  const v = dashboardView({ status: undefined, monitored: [], errors: ['mesh "x" is not up'], time: 5 });
  assert.deepEqual([v.name, v.summary.phase, v.elements.length, v.connections.length, v.errors], ['', 'down', 0, 0, ['mesh "x" is not up']]);
});
