// planMesh: namespaces, underlay addresses and each component's process arguments from a scenario.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planMesh, planNamespaces } from '../../../src/cluster/plan.js';
import { parseScenario } from '../../../src/cluster/scenario.js';
import { connectionTable } from '../../../src/cluster/table.js';

const TEXT = `name: k2v2k
nodes: [node-1, node-2]
endpoints:
  - { name: nse-1, node: node-2, kind: icmp-responder, services: [icmp-responder], cidr: 169.254.1.0/24, labels: { app: icmp } }
clients:
  - { name: nsc-1, node: node-1, requests: ["kernel://icmp-responder/nsm-1?app=nsc", "kernel://icmp-responder?app=b"] }
`;

test('plan: namespaces, underlay and components', () => {
  const p = planMesh(parseScenario(TEXT), 'k.yaml', 'tname');
  assert.equal(p.name, 'tname');
  assert.equal(p.runDir, '/run/nsm/tname');
  assert.deepEqual(planNamespaces(p), ['tname-ul', 'tname-node-1', 'tname-node-2', 'tname-nse-1', 'tname-nsc-1']);
  assert.deepEqual(p.nodes.map((n) => n.ip), ['198.18.0.1', '198.18.0.2']);
  assert.deepEqual(p.components.map((c) => `${c.kind}:${c.name}@${c.netns}`), [
    'registry:registry@tname-ul',
    'nsmgr:nsmgr-node-1@tname-node-1',
    'forwarder:forwarder-node-1@tname-node-1',
    'nsmgr:nsmgr-node-2@tname-node-2',
    'forwarder:forwarder-node-2@tname-node-2',
    'endpoint:nse-1@tname-node-2',
    'client:nsc-1@tname-node-1',
  ]);
  const nsmgr2 = p.components.find((c) => c.name === 'nsmgr-node-2')!;
  assert.deepEqual(nsmgr2.args, ['nsmgr', '--name', 'nsmgr-node-2', '--listen', 'unix:///run/nsm/tname/sock/nsmgr-node-2.sock', '--tcp-listen', 'tcp://198.18.0.2:5002', '--registry', 'tcp://198.18.0.254:5001', '--metrics-listen', '198.18.0.2:9100']);
  assert.equal(nsmgr2.metricsUrl, 'http://198.18.0.2:9100/metrics');
  assert.deepEqual(p.components.map((c) => c.metricsUrl), ['http://198.18.0.254:9100/metrics', 'http://198.18.0.1:9100/metrics', 'http://198.18.0.1:9101/metrics', 'http://198.18.0.2:9100/metrics', 'http://198.18.0.2:9101/metrics', 'http://198.18.0.2:9102/metrics', 'http://198.18.0.1:9102/metrics']);
  const nse = p.components.find((c) => c.name === 'nse-1')!;
  assert.ok(nse.args.join(' ').includes('--netns tname-nse-1 --listen unix:///run/nsm/tname/sock/nse-1.sock'));
  assert.deepEqual(p.requests, [
    { client: 'nsc-1', service: 'icmp-responder', ifname: 'nsm-1' },
    { client: 'nsc-1', service: 'icmp-responder', ifname: 'nsm-2' },
  ]);
});

test('plan: etcd backend without endpoints runs a local etcd in the underlay before the registry', () => {
  const p = planMesh(parseScenario(TEXT.replace('nodes: [node-1, node-2]\n', 'nodes: [node-1, node-2]\nregistry: { backend: etcd }\n')), 'k.yaml', 'tname');
  assert.deepEqual(p.components.slice(0, 2).map((c) => `${c.kind}:${c.name}@${c.netns}`), ['etcd:etcd@tname-ul', 'registry:registry@tname-ul']);
  const etcd = p.components[0]!;
  assert.equal(etcd.exec, 'etcd');
  assert.equal(etcd.url, 'http://198.18.0.254:2379');
  assert.ok(etcd.args.includes('--data-dir=/run/nsm/tname/etcd'));
  assert.ok(etcd.args.includes('--listen-client-urls=http://198.18.0.254:2379'));
  assert.ok(etcd.args.includes('--listen-peer-urls=http://198.18.0.254:2380'));
  assert.deepEqual(p.components[1]!.args, ['registry', '--listen', 'tcp://198.18.0.254:5001', '--backend', 'etcd', '--etcd-endpoints', 'http://198.18.0.254:2379', '--metrics-listen', '198.18.0.254:9100']);
});

test('plan: etcd backend with endpoints uses them and starts no etcd', () => {
  const text = TEXT.replace('nodes: [node-1, node-2]\n', 'nodes: [node-1, node-2]\nregistry: { backend: etcd, endpoints: ["http://198.19.9.1:2379", "http://198.19.9.2:2379"] }\n');
  const p = planMesh(parseScenario(text), 'k.yaml', 'tname');
  assert.equal(p.components.filter((c) => c.kind === 'etcd').length, 0);
  assert.deepEqual(p.components[0]!.args, ['registry', '--listen', 'tcp://198.18.0.254:5001', '--backend', 'etcd', '--etcd-endpoints', 'http://198.19.9.1:2379,http://198.19.9.2:2379', '--metrics-listen', '198.18.0.254:9100']);
});

test('table: connections, padded columns', () => {
  const lines = connectionTable([
    { id: 'x', client: 'nsc-1', service: 'svc', endpoint: 'nse-1', mechanism: 'KERNEL', interface: 'nsm-1', srcIp: '169.254.1.1/32', dstIp: '169.254.1.0/32', srcIps: ['169.254.1.1/32'], dstIps: ['169.254.1.0/32'], path: ['a', 'b'], state: 'UP' },
  ]);
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^CLIENT\s+IF\s+SERVICE\s+ENDPOINT\s+MECHANISM\s+REMOTE\s+SRC\s+DST\s+STATE\s+PATH$/);
  assert.match(lines[1]!, /^nsc-1\s+nsm-1\s+svc\s+nse-1\s+KERNEL\s+-\s+169\.254\.1\.1\/32\s+169\.254\.1\.0\/32\s+UP\s+a > b$/);
});

test('table: a dual-stack connection shows every address', () => {
  const lines = connectionTable([
    { id: 'x', client: 'nsc-1', service: 'svc', endpoint: 'nse-1', mechanism: 'KERNEL', interface: 'nsm-1', srcIp: '169.254.1.1/32', dstIp: '169.254.1.0/32',
      srcIps: ['169.254.1.1/32', '2001:db8:1::1/128'], dstIps: ['169.254.1.0/32', '2001:db8:1::/128'], path: ['a'], state: 'UP' },
  ]);
  assert.match(lines[1]!, /169\.254\.1\.1\/32,2001:db8:1::1\/128\s+169\.254\.1\.0\/32,2001:db8:1::\/128\s+UP/);
});

test('plan: cidr lists, cidrs, and an IPv6 underlay', () => {
  const text = TEXT.replace('nodes: [node-1, node-2]\n', 'nodes: [node-1, node-2]\nunderlay: ipv6\n');
  const p = planMesh(parseScenario(text), 'k.yaml', 'tname');
  assert.deepEqual(p.nodes.map((n) => [n.ip, n.ip6]), [['198.18.0.1', '2001:db8:ff::1'], ['198.18.0.2', '2001:db8:ff::2']]);
  const fwd = p.components.find((c) => c.kind === 'forwarder')!;
  assert.equal(fwd.args[fwd.args.indexOf('--underlay-ip') + 1], '2001:db8:ff::1');
  const plain = planMesh(parseScenario(TEXT), 'k.yaml', 'tname');
  assert.equal(plain.nodes[0]!.ip6, undefined);
});

test('plan: runtime podman gives the workload a container named after its namespace; netns is the default', () => {
  const text = `name: pod
nodes: [node-1]
endpoints:
  - { name: nse-1, node: node-1, kind: icmp-responder, services: [s], cidr: 169.254.1.0/24, runtime: podman }
clients:
  - { name: c1, node: node-1, runtime: podman, requests: ["kernel://s/nsm-1"] }
  - { name: c2, node: node-1, runtime: netns, requests: ["kernel://s/nsm-1"] }
  - { name: c3, node: node-1, requests: ["kernel://s/nsm-1"] }
`;
  const p = planMesh(parseScenario(text), 'p.yaml');
  assert.deepEqual(
    p.workloads.map((w) => [w.name, w.netns, w.runtime, w.container]),
    [['nse-1', 'pod-nse-1', 'podman', 'pod-nse-1'], ['c1', 'pod-c1', 'podman', 'pod-c1'], ['c2', 'pod-c2', undefined, undefined], ['c3', 'pod-c3', undefined, undefined]],
  );
  assert.throws(() => parseScenario(text.replace('runtime: netns', 'runtime: docker')), /runtime/);
});

test('plan: a node\'s remote_mechanisms go to its forwarder as --remote-mechanisms; a plain node gets none', () => {
  const text = TEXT.replace('nodes: [node-1, node-2]\n', 'nodes: [node-1, { name: node-2, remote_mechanisms: [gre, vxlan] }]\n');
  const p = planMesh(parseScenario(text), 'k.yaml', 'tname');
  const [f1, f2] = p.components.filter((c) => c.kind === 'forwarder');
  assert.ok(!f1!.args.includes('--remote-mechanisms'));
  assert.equal(f2!.args[f2!.args.indexOf('--remote-mechanisms') + 1], 'gre,vxlan');
  assert.equal(p.nodes[1]!.name, 'node-2');
});

test('table: the remote mechanism has its column', () => {
  const lines = connectionTable([
    { id: 'x', client: 'nsc-1', service: 'svc', endpoint: 'nse-1', mechanism: 'KERNEL', remoteMechanism: 'VXLAN', interface: 'nsm-1', srcIp: '169.254.1.1/32', dstIp: '169.254.1.0/32', srcIps: ['169.254.1.1/32'], dstIps: ['169.254.1.0/32'], path: ['a'], state: 'UP' },
  ]);
  assert.match(lines[1]!, /KERNEL\s+VXLAN\s+169/);
});

test('plan: a service with via gives every forwarder --srv6-via with the waypoints\' IPv6 underlay addresses', () => {
  const text = TEXT.replace('nodes: [node-1, node-2]\n', 'nodes: [node-1, node-2, node-3]\nunderlay: ipv6\nservices:\n  - { name: icmp-responder, via: [node-3] }\n');
  const p = planMesh(parseScenario(text), 'k.yaml', 'tname');
  for (const f of p.components.filter((c) => c.kind === 'forwarder')) assert.equal(f.args[f.args.indexOf('--srv6-via') + 1], 'icmp-responder=2001:db8:ff::3');
});

test('plan: k8s backend passes the kubeconfig (relative to the scenario file) and namespace to the registry', () => {
  const p = planMesh(parseScenario(TEXT.replace('nodes: [node-1, node-2]\n', 'nodes: [node-1, node-2]\nregistry: { backend: k8s, kubeconfig: kube/config, namespace: nsm }\n')), '/srv/meshes/k.yaml', 'tname');
  const registry = p.components.find((c) => c.kind === 'registry')!;
  assert.deepEqual(registry.args.slice(3, 9), ['--backend', 'k8s', '--kubeconfig', '/srv/meshes/kube/config', '--k8s-namespace', 'nsm']);
  assert.equal(p.components.filter((c) => c.kind === 'etcd').length, 0);
});
