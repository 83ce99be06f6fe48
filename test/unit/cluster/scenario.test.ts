// Scenario validation: each bad input gives exactly one `FILE:LINE: field: message` line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseScenario, ScenarioError } from '../../../src/cluster/scenario.js';
import { checkScenarioText, loadScenario, readScenario } from '../../../src/cluster/scenario.js';
import { endpointCidrs } from '../../../src/cluster/scenario-schema.js';
import { readdirSync } from 'node:fs';

const GOOD = `name: k2v2k
nodes: [node-1, node-2]
registry: { backend: memory }
services:
  - name: icmp-responder
endpoints:
  - name: nse-1
    node: node-2
    kind: icmp-responder
    services: [icmp-responder]
    cidr: 169.254.1.0/24
    labels: { app: icmp }
clients:
  - name: nsc-1
    node: node-1
    requests: ["kernel://icmp-responder/nsm-1?app=nsc"]
`;

function errorsOf(text: string): string[] {
  try {
    parseScenario(text, 's.yaml');
  } catch (err) {
    assert.ok(err instanceof ScenarioError, String(err));
    return err.lines();
  }
  assert.fail('expected a ScenarioError');
}

const cases: [string, string, string][] = [
  ['via an unknown node', GOOD.replace(/services:\n.*\n/, 'services:\n  - { name: icmp-responder, via: [node-9] }\n').replace('registry:', 'underlay: ipv6\nregistry:'), 's.yaml:6: services[0].via[0]: unknown node "node-9" (nodes: node-1, node-2)'],
  ['via without an IPv6 underlay', GOOD.replace(/services:\n.*\n/, 'services:\n  - { name: icmp-responder, via: [node-1] }\n'), 's.yaml:5: services[0].via: traffic engineering (via) runs over SRv6 and needs `underlay: ipv6`'],
  ['no supported remote mechanism', GOOD.replace(/nodes: .*\n/, 'nodes: [node-1, { name: node-2, remote_mechanisms: [gre, ipx] }]\n'), 's.yaml:2: nodes[1].remote_mechanisms: no supported remote mechanism in [gre, ipx] (supported: vxlan, srv6, wireguard, ipsec)'],
  ['unknown top-level key', GOOD.replace('registry:', 'registy:'), 's.yaml:3: registy: unknown key "registy"'],
  ['unknown endpoint key', GOOD.replace('    labels:', '    label:'), 's.yaml:12: endpoints[0].label: unknown key "label"'],
  ['duplicate name', GOOD.replace('  - name: nsc-1', '  - name: nse-1'), 's.yaml:14: clients[0].name: duplicate name "nse-1" (already used by endpoint 1)'],
  ['client on unknown node', GOOD.replace('    node: node-1', '    node: node-3'), 's.yaml:15: clients[0].node: unknown node "node-3" (nodes: node-1, node-2)'],
  [
    'endpoint without service',
    GOOD.replace('clients:', '  - { name: nse-2, node: node-1, kind: icmp-responder, services: [], cidr: 169.254.2.0/24 }\nclients:'),
    's.yaml:13: endpoints[1].services: endpoint "nse-2" offers no service',
  ],
  ['endpoint missing services', GOOD.replace('    services: [icmp-responder]\n', ''), 's.yaml:7: endpoints[0].services: missing (want array)'],
  [
    'overlapping CIDRs',
    GOOD.replace('clients:', '  - { name: nse-2, node: node-1, kind: icmp-responder, services: [icmp-responder], cidr: 169.254.0.0/16 }\nclients:'),
    's.yaml:13: endpoints[1].cidr: 169.254.0.0/16 overlaps 169.254.1.0/24 of endpoint "nse-1"',
  ],
  ['CIDR in the underlay', GOOD.replace('169.254.1.0/24', '198.18.5.0/24'), 's.yaml:11: endpoints[0].cidr: 198.18.5.0/24 overlaps the underlay 198.18.0.0/15'],
  ['bad CIDR', GOOD.replace('169.254.1.0/24', '169.254.1.0'), 's.yaml:11: endpoints[0].cidr: "169.254.1.0" is not a CIDR (e.g. 169.254.1.0/24 or 2001:db8:1::/64)'],
  ['bad CIDR in a list', GOOD.replace('169.254.1.0/24', '169.254.1.0/24,2001:db8::zz/64'), 's.yaml:11: endpoints[0].cidr: "2001:db8::zz/64" is not a CIDR (e.g. 169.254.1.0/24 or 2001:db8:1::/64)'],
  ['IPv6 CIDR too small', GOOD.replace('169.254.1.0/24', '2001:db8:1::/127'), 's.yaml:11: endpoints[0].cidr: 2001:db8:1::/127 is too small for point-to-point pairs (at most /126)'],
  ['IPv6 CIDR in the underlay', GOOD.replace('169.254.1.0/24', '2001:db8:ff::/80'), 's.yaml:11: endpoints[0].cidr: 2001:db8:ff::/80 overlaps the underlay 2001:db8:ff::/64'],
  ['overlap within one endpoint', GOOD.replace('169.254.1.0/24', '2001:db8:1::/64,2001:db8:1:0:1::/80'), 's.yaml:11: endpoints[0].cidr: 2001:db8:1:0:1::/80 overlaps 2001:db8:1::/64 of the same endpoint'],
  ['cidr and cidrs', GOOD.replace('    cidr: 169.254.1.0/24\n', '    cidr: 169.254.1.0/24\n    cidrs: [2001:db8:1::/64]\n'), 's.yaml:12: endpoints[0].cidrs: endpoint "nse-1" gives either cidr or cidrs, not both'],
  ['bad entry of cidrs', GOOD.replace('    cidr: 169.254.1.0/24\n', '    cidrs: [169.254.1.0/24, "2001:db8:1::/129"]\n'), 's.yaml:11: endpoints[0].cidrs[1]: "2001:db8:1::/129" is not a CIDR (e.g. 169.254.1.0/24 or 2001:db8:1::/64)'],
  ['unknown underlay', GOOD.replace('registry:', 'underlay: ipv5\nregistry:'), 's.yaml:3: underlay: must be one of ipv4, ipv6'],
  ['scenario name too long', GOOD.replace('name: k2v2k', 'name: a-very-long-scenario-name'), 's.yaml:1: name: "a-very-long-scenario-name" must be 1-16 characters of a-z 0-9 - starting with a letter (it prefixes every namespace)'],
  ['node name invalid in a namespace', GOOD.replace('nodes: [node-1, node-2]', 'nodes: [node-1, node_2]').replace('node: node-2', 'node: node_2'), 's.yaml:2: nodes[1]: "node_2" must be 1-32 characters of a-z 0-9 - (not starting or ending with -): it names namespace "k2v2k-node_2"'],
  ['reserved name', GOOD.replace('  - name: nsc-1', '  - name: ul'), 's.yaml:14: clients[0].name: "ul" is reserved (namespace "k2v2k-ul" is the underlay)'],
  ['interface name too long', GOOD.replace('/nsm-1?', '/a-very-long-ifname?'), 's.yaml:16: clients[0].requests[0]: "kernel://icmp-responder/a-very-long-ifname?app=nsc": interface name "a-very-long-ifname" must be 1-15 characters of A-Z a-z 0-9 _ . -'],
  ['vhostuser:// outside runtime dpdk', GOOD.replace('kernel://icmp-responder/', 'vhostuser://icmp-responder/'), 's.yaml:16: clients[0].requests[0]: client "nsc-1" requests vhostuser:// (a DPDK virtio-user NIC): give it runtime: dpdk'],
  ['service nobody offers', GOOD.replace('kernel://icmp-responder/', 'kernel://nope/'), 's.yaml:16: clients[0].requests[0]: no endpoint offers service "nope"'],
  [
    'cidr on a passthrough',
    GOOD.replace('clients:', '  - { name: fw-1, node: node-1, kind: passthrough, services: [icmp-responder], cidr: 169.254.2.0/24 }\nclients:'),
    's.yaml:13: endpoints[1].cidr: endpoint "fw-1" is a passthrough: it hands out its onward connection\'s addresses and takes no cidr (remove it)',
  ],
  ['unknown kind', GOOD.replace('kind: icmp-responder', 'kind: firewall'), 's.yaml:9: endpoints[0].kind: must be one of icmp-responder, passthrough, vl3, macswap'],
  ['unknown backend', GOOD.replace('backend: memory', 'backend: redis'), 's.yaml:3: registry.backend: must be one of memory, etcd, k8s'],
  ['k8s without kubeconfig', GOOD.replace('backend: memory }', 'backend: k8s }'), 's.yaml:3: registry.backend: backend k8s needs registry.kubeconfig (a kubeconfig file whose server the underlay namespace reaches)'],
  ['kubeconfig without k8s', GOOD.replace('backend: memory }', 'backend: etcd, kubeconfig: k }'), 's.yaml:3: registry.kubeconfig: only for backend k8s'],
  ['etcd endpoint not a URL', GOOD.replace('backend: memory }', 'backend: etcd, endpoints: [etcd-1] }'), 's.yaml:3: registry.endpoints[0]: "etcd-1" is not a URL (want http://host:port)'],
  ['etcd endpoint scheme', GOOD.replace('backend: memory }', 'backend: etcd, endpoints: ["http://198.19.0.1:2379", "ftp://198.19.0.2:2379"] }'), 's.yaml:3: registry.endpoints[1]: "ftp://198.19.0.2:2379": scheme must be http or https'],
  ['etcd endpoint without port', GOOD.replace('backend: memory }', 'backend: etcd, endpoints: ["http://198.19.0.1"] }'), 's.yaml:3: registry.endpoints[0]: "http://198.19.0.1": want scheme://host:port (e.g. http://198.19.0.5:2379)'],
  [
    'etcd endpoint on loopback',
    GOOD.replace('registry: { backend: memory }', 'registry:\n  backend: etcd\n  endpoints:\n    - http://127.0.0.1:2379'),
    's.yaml:6: registry.endpoints[0]: "http://127.0.0.1:2379": loopback here is the underlay namespace\'s own, where the registry runs, not this host\'s; use an address reachable from the underlay',
  ],
  ['etcd endpoints mixed', GOOD.replace('backend: memory }', 'backend: etcd, endpoints: ["http://a:1", "https://b:1"] }'), 's.yaml:3: registry.endpoints: mix of http and https URLs'],
  ['etcd endpoints empty', GOOD.replace('backend: memory }', 'backend: etcd, endpoints: [] }'), 's.yaml:3: registry.endpoints: empty: list etcd client URLs, or leave endpoints out and nsm up starts a local etcd'],
  ['endpoints with memory', GOOD.replace('backend: memory }', 'backend: memory, endpoints: ["http://a:1"] }'), 's.yaml:3: registry.endpoints: only for backend etcd'],
  ['YAML duplicate key', GOOD.replace('    kind: icmp-responder', '    kind: icmp-responder\n    kind: passthrough'), 's.yaml:10: yaml: Map keys must be unique'],
];

for (const [title, text, want] of cases) {
  test(`scenario: ${title}`, () => {
    assert.deepEqual(errorsOf(text), [want]);
  });
}

test('scenario: a good file parses', () => {
  const s = parseScenario(GOOD, 's.yaml');
  assert.equal(s.name, 'k2v2k');
  assert.equal(s.endpoints?.[0]?.cidr, '169.254.1.0/24');
});

test('scenario: every shipped example is valid', async () => {
  const dir = new URL('../../../examples/', import.meta.url).pathname;
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  for (const f of ['local-kernel', 'two-node-vxlan', 'demo', 'etcd', 'ipv6', 'dual-stack']) assert.ok(files.includes(`${f}.yaml`), f);
  for (const f of files) {
    const s = await loadScenario(`${dir}${f}`);
    assert.ok(s.nodes.length >= 1, f);
  }
});

test('scenario: dual-stack endpoints by cidr list or cidrs', () => {
  const list = parseScenario(GOOD.replace('169.254.1.0/24', '169.254.1.0/24,2001:db8:1::/64'), 's.yaml');
  assert.deepEqual(endpointCidrs(list.endpoints![0]!), ['169.254.1.0/24', '2001:db8:1::/64']);
  const arr = parseScenario(GOOD.replace('    cidr: 169.254.1.0/24\n', '    cidrs: [2001:db8:1::/64, 169.254.1.0/24]\n'), 's.yaml');
  assert.deepEqual(endpointCidrs(arr.endpoints![0]!), ['2001:db8:1::/64', '169.254.1.0/24']);
});

test('scenario: a missing file', async () => {
  await assert.rejects(loadScenario('/nonexistent.yaml'), /\/nonexistent.yaml:0: file: no such file/);
});

// Warnings: likely mistakes reported before anything is built, without stopping `nsm up`.
const WARN = GOOD.replace(
  '  - name: icmp-responder\n',
  `  - name: icmp-responder
    matches:
      - source_selector: { role: picky }
        routes: [{ destination_selector: { zone: b } }]
      - source_selector: { app: nsc }
        routes: [{ destination_selector: { app: icmp } }]
      - source_selector: { app: tpl }
        routes: [{ destination_selector: { app: "{{.want}}" } }]
      - source_selector: { app: ft }
        routes: [{ destination_selector: { app: nope } }, { destination_selector: { zone: x } }]
        fallthrough: true
`,
);

test('scenario warnings: matches that can never select an endpoint (templates assumed to match)', () => {
  const { scenario, warnings } = checkScenarioText(WARN, 's.yaml');
  assert.equal(scenario.services?.[0]?.matches?.length, 4);
  assert.deepEqual(warnings, [
    's.yaml:7: services[0].matches[0]: can never select an endpoint: no endpoint of service "icmp-responder" (nse-1) has labels matching {"zone":"b"}; a client it applies to gets no endpoint',
    's.yaml:13: services[0].matches[3]: can never select an endpoint: no endpoint of service "icmp-responder" (nse-1) has labels matching {"app":"nope"}, {"zone":"x"}; it always falls through',
  ]);
});

test('scenario warnings: ?endpoint= naming no endpoint, or one without the service', () => {
  const text = GOOD.replace(
    '    requests: ["kernel://icmp-responder/nsm-1?app=nsc"]',
    '    requests: ["kernel://icmp-responder/nsm-1?endpoint=nse-9", "kernel://icmp-responder/nsm-2?endpoint=nse-1", "kernel://other/nsm-3?endpoint=nse-1"]',
  ).replace('services: [icmp-responder]', 'services: [icmp-responder, other]');
  const { warnings } = checkScenarioText(text.replace('services: [icmp-responder, other]\n    cidr', 'services: [icmp-responder, other]\n    cidr'), 's.yaml');
  assert.deepEqual(warnings, ['s.yaml:16: clients[0].requests[0]: ?endpoint=nse-9 names no endpoint of this scenario (endpoints: nse-1)']);
  const two = GOOD.replace('clients:', '  - { name: nse-2, node: node-1, kind: icmp-responder, services: [other], cidr: 169.254.2.0/24 }\nclients:').replace(
    '"kernel://icmp-responder/nsm-1?app=nsc"',
    '"kernel://icmp-responder/nsm-1?endpoint=nse-2"',
  );
  assert.deepEqual(checkScenarioText(two, 's.yaml').warnings, ['s.yaml:17: clients[0].requests[0]: ?endpoint=nse-2: that endpoint does not offer service "icmp-responder" (it offers other)']);
});

test('scenario warnings: none for the shipped examples', async () => {
  for (const f of ['local-kernel', 'two-node-vxlan', 'demo', 'etcd', 'chain', 'heal']) {
    const { warnings } = await readScenario(new URL(`../../../examples/${f}.yaml`, import.meta.url).pathname);
    assert.deepEqual(warnings, [], f);
  }
});
