// planMesh: a scenario's `policy` file reaches the registry and every nsmgr as --policy (relative to the scenario file).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planMesh } from '../../../src/cluster/plan.js';
import { parseScenario } from '../../../src/cluster/scenario.js';

test('plan: policy goes to the registry and the nsmgrs', () => {
  const p = planMesh(parseScenario('name: pol\nnodes: [node-1, node-2]\npolicy: policies/gold.cedar\n'), '/etc/mesh/k.yaml', 'tname');
  const withPolicy = p.components.filter((c) => c.args.includes('--policy')).map((c) => [c.name, c.args[c.args.indexOf('--policy') + 1]]);
  assert.deepEqual(withPolicy, [['registry', '/etc/mesh/policies/gold.cedar'], ['nsmgr-node-1', '/etc/mesh/policies/gold.cedar'], ['nsmgr-node-2', '/etc/mesh/policies/gold.cedar']]);
});
