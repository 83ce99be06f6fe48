// Scenario `domains` and vL3 endpoints: the checks (one readable line each) and what the plan
// makes of them (a registry per domain, nsmgr --domain/--domains, vl3 instances sharing a prefix).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planMesh } from '../../../src/cluster/plan.js';
import { parseScenario, ScenarioError } from '../../../src/cluster/scenario.js';

const TEXT = `name: idom
domain: domain-a
nodes: [node-1, node-2]
domains:
  - { name: domain-b, nodes: [node-2] }
  - { name: floating, floating: true }
endpoints:
  - { name: nse-b, node: node-2, kind: icmp-responder, services: [icmp-b], cidr: 169.254.40.0/24 }
  - { name: nse-f, node: node-2, kind: icmp-responder, services: ["icmp-f@floating"], cidr: 169.254.41.0/24 }
clients:
  - { name: nsc-1, node: node-1, requests: ["kernel://icmp-b@domain-b/nsm-1", "kernel://icmp-f@floating/nsm-2"] }
`;

function errorsOf(text: string): string[] {
  try {
    parseScenario(text, 's.yaml');
  } catch (err) {
    assert.ok(err instanceof ScenarioError, String(err));
    return err.lines();
  }
  return [];
}

test('domains: plan has a registry and an nsmgr-proxy per domain and nsmgrs that know them all', () => {
  const p = planMesh(parseScenario(TEXT), 'i.yaml');
  assert.deepEqual(p.domains, [
    { name: 'domain-a', registry: 'tcp://198.18.0.254:5001', nodes: ['node-1'], proxy: 'tcp://198.18.0.254:5021' },
    { name: 'domain-b', registry: 'tcp://198.18.0.254:5011', nodes: ['node-2'], proxy: 'tcp://198.18.0.254:5022' },
    { name: 'floating', registry: 'tcp://198.18.0.254:5012', nodes: [], floating: true },
  ]);
  assert.deepEqual(p.components.filter((c) => c.kind === 'registry').map((c) => c.name), ['registry', 'registry-domain-b', 'registry-floating']);
  const nsmgr2 = p.components.find((c) => c.name === 'nsmgr-node-2')!.args;
  assert.equal(nsmgr2[nsmgr2.indexOf('--registry') + 1], 'tcp://198.18.0.254:5011');
  assert.equal(nsmgr2[nsmgr2.indexOf('--domain') + 1], 'domain-b');
  assert.equal(nsmgr2[nsmgr2.indexOf('--domains') + 1], 'domain-a=tcp://198.18.0.254:5001,domain-b=tcp://198.18.0.254:5011,floating=tcp://198.18.0.254:5012');
  assert.equal(nsmgr2[nsmgr2.indexOf('--proxy') + 1], 'tcp://198.18.0.254:5022');
  // A proxy per domain with nodes, knowing the other's proxy and its own registry.
  const proxyA = p.components.find((c) => c.name === 'nsmgr-proxy-domain-a')!;
  assert.equal(proxyA.kind, 'nsmgr-proxy');
  assert.deepEqual(proxyA.args.slice(0, 11), ['nsmgr-proxy', '--name', 'nsmgr-proxy-domain-a', '--listen', 'tcp://198.18.0.254:5021', '--registry', 'tcp://198.18.0.254:5001', '--domain', 'domain-a', '--proxies', 'domain-b=tcp://198.18.0.254:5022']);
  assert.ok(!p.components.some((c) => c.name === 'nsmgr-proxy-floating'));
  // Without domains nothing changes.
  const plain = planMesh(parseScenario(TEXT.replace(/domain: domain-a\n/, '').replace(/domains:\n( {2}- .*\n)+/, '').replace('@domain-b', '').replace('@floating', '').replace('"icmp-f@floating"', 'icmp-f')), 'p.yaml');
  assert.equal(plain.domains, undefined);
  assert.ok(!plain.components.find((c) => c.name === 'nsmgr-node-1')!.args.includes('--domain'));
  assert.ok(!plain.components.some((c) => c.kind === 'nsmgr-proxy'));
});

test('domains: bad entries are one line each', () => {
  assert.deepEqual(errorsOf(TEXT.replace('nodes: [node-2] }', 'nodes: [node-9] }')), ['s.yaml:5: domains[0].nodes[0]: unknown node "node-9" (nodes: node-1, node-2)']);
  assert.deepEqual(errorsOf(TEXT.replace('{ name: floating, floating: true }', '{ name: floating, floating: true, nodes: [node-1] }')), ['s.yaml:6: domains[1].nodes: floating domain "floating" is a shared registry only: it has no nodes']);
  assert.deepEqual(errorsOf(TEXT.replace('{ name: floating, floating: true }', '{ name: domain-a, nodes: [node-1] }')), ['s.yaml:6: domains[1].name: domain "domain-a" is given twice (it is the main domain: nodes no domain lists)']);
  assert.deepEqual(errorsOf(TEXT.replace('{ name: floating, floating: true }', '{ name: dom-c, nodes: [node-2] }')), ['s.yaml:6: domains[1].nodes[0]: node "node-2" is already in domain "domain-b"']);
});

test('vl3: instances of one service share a prefix; a second CIDR is refused', () => {
  const vl3 = `name: v
nodes: [node-1, node-2]
endpoints:
  - { name: vl3-1, node: node-1, kind: vl3, services: [net], cidr: 169.254.16.0/20 }
  - { name: vl3-2, node: node-2, kind: vl3, services: [net], cidr: 169.254.16.0/20 }
clients:
  - { name: c1, node: node-1, requests: ["kernel://net/nsm-1"] }
`;
  assert.deepEqual(errorsOf(vl3), []);
  assert.equal(errorsOf(vl3.replace('cidr: 169.254.16.0/20 }\n  - { name: vl3-2', 'cidr: "169.254.16.0/20,2001:db8:16::/64" }\n  - { name: vl3-2')).length, 1);
});
