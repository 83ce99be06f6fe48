// explain-selection: the NOT_FOUND message says, per match, whether it applied and what its routes asked for.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkService, NetworkServiceEndpoint } from '../../../src/api/index.js';
import { explainSelection } from '../../../src/sdk/networkservice/explain-selection.js';

const nse = (name: string, labels: Record<string, string>) => NetworkServiceEndpoint.fromPartial({ name, networkServiceNames: ['svc'], networkServiceLabels: { svc: { labels } } });

describe('explain-selection', () => {
  it('names each match tried and why it gave no endpoint', () => {
    const ns = NetworkService.fromPartial({
      name: 'svc',
      matches: [
        { sourceSelector: { tier: 'gold' }, routes: [{ destinationSelector: { app: 'a' } }] },
        { sourceSelector: { tier: 'silver' }, routes: [{ destinationSelector: { app: 'fw-{{.tier}}' } }], fallthrough: true },
        { sourceSelector: {}, routes: [{ destinationSelector: { app: 'none' } }] },
        { sourceSelector: {}, routes: [] },
      ],
    });
    const why = explainSelection(ns, [nse('nse-1', { app: 'b' })], { tier: 'silver' });
    assert.equal(why.length, 3);
    assert.match(why[0]!, /^match 1 \(source_selector \{tier=gold\}\): does not apply to the client's labels \{tier=silver\}$/);
    assert.match(why[1]!, /match 2 .*\{app=fw-silver\}.*nse-1 \{app=b\}.*fallthrough to the next match/);
    assert.match(why[2]!, /match 3 .*\{app=none\}.*no fallthrough: selection stops here/);
  });

  it('says nothing for a service without matches', () => {
    assert.deepEqual(explainSelection(NetworkService.fromPartial({ name: 'svc' }), [], {}), []);
    assert.deepEqual(explainSelection(undefined, [], {}), []);
  });
});
