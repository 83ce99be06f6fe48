import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkService, type NetworkServiceEndpoint } from '../../../src/api/index.js';
import { fillTemplate, selectEndpoints, selectorMatches } from '../../../src/sdk/tools/select-endpoints.js';
import { nse } from '../networkservice/helpers.js';

const SVC = 'svc';
const ep = (name: string, labels: Record<string, string>) => nse(name, { networkServiceNames: [SVC], networkServiceLabels: { [SVC]: { labels } } });

const endpoints: NetworkServiceEndpoint[] = [
  ep('nse-a', { color: 'red', pod: 'client-1' }),
  ep('nse-b', { color: 'blue', pod: 'client-2' }),
  ep('nse-c', { color: 'blue' }),
];

interface Case {
  name: string;
  ns: Parameters<typeof NetworkService.fromPartial>[0] | undefined;
  client: Record<string, string>;
  want: string[];
  weights?: number[];
}

const cases: Case[] = [
  { name: 'no NetworkService registered: all endpoints', ns: undefined, client: {}, want: ['nse-a', 'nse-b', 'nse-c'] },
  { name: 'no matches: all endpoints', ns: { name: SVC }, client: { app: 'x' }, want: ['nse-a', 'nse-b', 'nse-c'] },
  {
    name: 'source selector hit, no routes: all endpoints',
    ns: { name: SVC, matches: [{ sourceSelector: { app: 'x' }, routes: [] }] },
    client: { app: 'x' },
    want: ['nse-a', 'nse-b', 'nse-c'],
  },
  {
    name: 'source selector miss: every endpoint (as upstream)',
    ns: { name: SVC, matches: [{ sourceSelector: { app: 'x' }, routes: [{ destinationSelector: { color: 'red' } }] }] },
    client: { app: 'y' },
    want: ['nse-a', 'nse-b', 'nse-c'],
  },
  {
    name: 'the issue\'s case: only a match for role=picky, client app=web: every endpoint, no forwarder labels',
    ns: { name: SVC, matches: [{ sourceSelector: { role: 'picky' }, routes: [{ destinationSelector: { zone: 'b' } }], metadata: { labels: { x: 'y' } } }] },
    client: { app: 'web' },
    want: ['nse-a', 'nse-b', 'nse-c'],
  },
  {
    name: 'no client labels and only selective matches: every endpoint',
    ns: {
      name: SVC,
      matches: [
        { sourceSelector: { app: 'x' }, routes: [{ destinationSelector: { color: 'red' } }] },
        { sourceSelector: { app: 'z' }, routes: [{ destinationSelector: { color: 'green' } }] },
      ],
    },
    client: {},
    want: ['nse-a', 'nse-b', 'nse-c'],
  },
  {
    name: 'fallthrough from the only applying match: no later match applies, every endpoint',
    ns: {
      name: SVC,
      matches: [
        { sourceSelector: {}, routes: [{ destinationSelector: { color: 'green' } }], fallthrough: true },
        { sourceSelector: { app: 'x' }, routes: [{ destinationSelector: { color: 'red' } }] },
      ],
    },
    client: {},
    want: ['nse-a', 'nse-b', 'nse-c'],
  },
  {
    name: 'route with a destination selector',
    ns: { name: SVC, matches: [{ sourceSelector: {}, routes: [{ destinationSelector: { color: 'blue' } }] }] },
    client: {},
    want: ['nse-b', 'nse-c'],
  },
  {
    name: 'several routes in order, without duplicates, weights carried',
    ns: {
      name: SVC,
      matches: [
        {
          sourceSelector: {},
          routes: [
            { destinationSelector: { color: 'blue' }, weight: 3 },
            { destinationSelector: {}, weight: 1 },
          ],
        },
      ],
    },
    client: {},
    want: ['nse-b', 'nse-c', 'nse-a'],
    weights: [3, 3, 1],
  },
  {
    name: 'template {{.podName}} filled from the client labels',
    ns: { name: SVC, matches: [{ sourceSelector: {}, routes: [{ destinationSelector: { pod: '{{.podName}}' } }] }] },
    client: { podName: 'client-2' },
    want: ['nse-b'],
  },
  {
    name: 'template with a missing client label matches only an empty value',
    ns: { name: SVC, matches: [{ sourceSelector: {}, routes: [{ destinationSelector: { pod: '{{ .podName }}' } }] }] },
    client: {},
    want: [],
  },
  {
    name: 'first matching match wins (no fallthrough when it has candidates)',
    ns: {
      name: SVC,
      matches: [
        { sourceSelector: { app: 'x' }, routes: [{ destinationSelector: { color: 'red' } }] },
        { sourceSelector: {}, routes: [{ destinationSelector: { color: 'blue' } }] },
      ],
    },
    client: { app: 'x' },
    want: ['nse-a'],
  },
  {
    name: 'a miss of the source selector moves to the next match',
    ns: {
      name: SVC,
      matches: [
        { sourceSelector: { app: 'x' }, routes: [{ destinationSelector: { color: 'red' } }] },
        { sourceSelector: {}, routes: [{ destinationSelector: { color: 'blue' } }] },
      ],
    },
    client: { app: 'z' },
    want: ['nse-b', 'nse-c'],
  },
  {
    name: 'fallthrough: an empty match moves on',
    ns: {
      name: SVC,
      matches: [
        { sourceSelector: {}, routes: [{ destinationSelector: { color: 'green' } }], fallthrough: true },
        { sourceSelector: {}, routes: [{ destinationSelector: { color: 'red' } }] },
      ],
    },
    client: {},
    want: ['nse-a'],
  },
  {
    name: 'no fallthrough: an empty match is final',
    ns: {
      name: SVC,
      matches: [
        { sourceSelector: {}, routes: [{ destinationSelector: { color: 'green' } }] },
        { sourceSelector: {}, routes: [{ destinationSelector: { color: 'red' } }] },
      ],
    },
    client: {},
    want: [],
  },
  {
    name: 'chain steering: each hop is chosen by the source labels of the previous one',
    ns: {
      name: SVC,
      matches: [
        { sourceSelector: { app: 'nsc' }, routes: [{ destinationSelector: { color: 'red' } }] },
        { sourceSelector: { app: 'fw-1' }, routes: [{ destinationSelector: { pod: 'client-2' } }] },
        { sourceSelector: { app: 'fw-2' }, routes: [{ destinationSelector: { color: 'blue' } }, { destinationSelector: { color: 'red' }, weight: 0 }] },
      ],
    },
    client: { app: 'fw-1' },
    want: ['nse-b'],
  },
  {
    name: 'fallthrough past several empty matches, weights of the hit kept',
    ns: {
      name: SVC,
      matches: [
        { sourceSelector: {}, routes: [{ destinationSelector: { color: 'green' } }], fallthrough: true },
        { sourceSelector: { app: 'nope' }, routes: [{ destinationSelector: {} }] },
        { sourceSelector: {}, routes: [{ destinationSelector: { color: 'yellow' } }], fallthrough: true },
        { sourceSelector: {}, routes: [{ destinationSelector: { color: 'blue' }, weight: 7 }] },
      ],
    },
    client: {},
    want: ['nse-b', 'nse-c'],
    weights: [7, 7],
  },
  {
    name: 'fallthrough on the last match: past the end of the matches, every endpoint (as upstream)',
    ns: { name: SVC, matches: [{ sourceSelector: {}, routes: [{ destinationSelector: { color: 'green' } }], fallthrough: true }] },
    client: {},
    want: ['nse-a', 'nse-b', 'nse-c'],
  },
  {
    name: 'labels of another service do not count',
    ns: { name: 'other', matches: [{ sourceSelector: {}, routes: [{ destinationSelector: { color: 'red' } }] }] },
    client: {},
    want: [],
  },
];

describe('select-endpoints', () => {
  for (const c of cases) {
    it(c.name, () => {
      const got = selectEndpoints(c.ns ? NetworkService.fromPartial(c.ns) : undefined, endpoints, c.client);
      assert.deepEqual(got.map((x) => x.endpoint.name), c.want);
      if (c.weights) assert.deepEqual(got.map((x) => x.weight), c.weights);
    });
  }

  it('no endpoints: no candidates', () => {
    assert.deepEqual(selectEndpoints(undefined, [], {}), []);
  });

  it('fillTemplate and selectorMatches', () => {
    assert.equal(fillTemplate('pod-{{.podName}}-{{.ns}}', { podName: 'p1', ns: 'default' }), 'pod-p1-default');
    assert.equal(fillTemplate('{{.missing}}', {}), '');
    assert.equal(fillTemplate('plain', { plain: 'x' }), 'plain');
    assert.equal(selectorMatches({}, {}, {}), true);
    assert.equal(selectorMatches({ a: '1' }, { a: '1', b: '2' }, {}), true);
    assert.equal(selectorMatches({ a: '1' }, { b: '2' }, {}), false);
    assert.equal(selectorMatches({ a: '{{.x}}' }, { a: 'v' }, { x: 'v' }), true);
  });

  it("carries the selecting match's metadata labels to pick the forwarder; none without metadata", () => {
    const ns = NetworkService.fromPartial({
      name: SVC,
      matches: [{ sourceSelector: { app: 'x' }, routes: [{ destinationSelector: { color: 'blue' } }], metadata: { labels: { fast: 'yes' } } }],
    });
    const got = selectEndpoints(ns, endpoints, { app: 'x' });
    assert.deepEqual(got.map((c) => [c.endpoint.name, c.forwarderLabels]), [['nse-b', { fast: 'yes' }], ['nse-c', { fast: 'yes' }]]);
    assert.equal(selectEndpoints(NetworkService.fromPartial({ name: SVC }), endpoints, {})[0]!.forwarderLabels, undefined);
  });
});
