import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { networkServiceOf, parseMatches } from '../../../src/cluster/service-spec.js';
import { checkScenario } from '../../../src/cluster/scenario-checks.js';
import { scenarioSchema } from '../../../src/cluster/scenario-schema.js';
import { planMesh } from '../../../src/cluster/plan.js';
import { registerServiceArgs } from '../../../src/cluster/register-services.js';

describe('service-spec', () => {
  it("turns the scenario's snake_case matches into a NetworkService", () => {
    const ns = networkServiceOf({
      name: 'secure',
      matches: [
        { source_selector: { app: 'nsc' }, routes: [{ destination_selector: { app: 'fw-1' }, weight: 2 }], fallthrough: true, metadata: { labels: { p2p: 'true' } } },
        { routes: [{}] },
      ],
    });
    assert.equal(ns.name, 'secure');
    assert.equal(ns.payload, 'ETHERNET');
    assert.deepEqual(ns.matches[0], { sourceSelector: { app: 'nsc' }, routes: [{ destinationSelector: { app: 'fw-1' }, weight: 2 }], fallthrough: true, metadata: { labels: { p2p: 'true' } } });
    assert.deepEqual(ns.matches[1], { sourceSelector: {}, routes: [{ destinationSelector: {}, weight: 0 }], fallthrough: false, metadata: undefined });
  });

  it('parseMatches: JSON in the scenario format, one clear problem otherwise', () => {
    assert.deepEqual(parseMatches('[{"source_selector":{"app":"a"}}]'), [{ source_selector: { app: 'a' } }]);
    assert.throws(() => parseMatches('{'), /matches: not JSON/);
    assert.throws(() => parseMatches('[{"routes":[{"weight":-1}]}]'), /matches\[0\]\.routes\[0\]\.weight/);
    assert.throws(() => parseMatches('[{"sourceSelector":{}}]'), /matches\[0\]/);
  });

  it('passthrough endpoints need no cidr; icmp-responders do', () => {
    const s = scenarioSchema.parse({
      name: 'c', nodes: ['n1'], services: [{ name: 's', matches: [{ source_selector: { app: 'x' } }] }],
      endpoints: [
        { name: 'fw', node: 'n1', kind: 'passthrough', services: ['s'] },
        { name: 'e', node: 'n1', kind: 'icmp-responder', services: ['s'] },
      ],
    });
    assert.deepEqual(checkScenario(s).map((p) => p.message), ['endpoint "e" needs a cidr (e.g. 169.254.1.0/24 or 169.254.1.0/24,2001:db8:1::/64)']);
    const plan = planMesh(s, 'c.yaml');
    const fw = plan.components.find((c) => c.name === 'fw')!;
    assert.deepEqual(fw.args.slice(0, 6), ['nse', 'passthrough', '--name', 'fw', '--service', 's']);
    assert.ok(!fw.args.includes('--cidr'));
    assert.deepEqual(plan.services?.map((x) => x.name), ['s']);
    const argv = registerServiceArgs(plan, plan.services[0]!);
    assert.deepEqual(argv.slice(0, 3), ['netns', 'exec', 'c-ul']);
    assert.deepEqual(argv.slice(-7), ['register', '--registry', 'tcp://198.18.0.254:5001', '--name', 's', '--matches', '[{"source_selector":{"app":"x"}}]']);
  });
});
