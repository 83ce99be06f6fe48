// hop-metrics: every Request and Close reaches the recorder with its status and latency; reselects are counted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection, NetworkServiceRequest, State } from '../../../src/api/index.js';
import { chain, element, type NetworkServiceHandler } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { NotFoundError } from '../../../src/api/errors.js';
import type { MetricsRecorder } from '../../../src/sdk/core/metrics.js';
import { hopMetrics, withHopMetrics } from '../../../src/sdk/networkservice/hop-metrics.js';

function fakeRecorder() {
  const hops: [string, string, number][] = [];
  let reselects = 0;
  const rec: MetricsRecorder = { hop: (m, c, s) => hops.push([m, c, s]), reselect: () => void reselects++ };
  return { rec, hops, reselects: () => reselects };
}

const req = (state = State.UP) => NetworkServiceRequest.fromPartial({ connection: { id: 'c1', state } });

describe('hop-metrics', () => {
  it('records OK requests and closes with their latency', async () => {
    const f = fakeRecorder();
    const h = chain(hopMetrics(f.rec));
    await h.request(req(), newCtx());
    await h.close(Connection.fromPartial({ id: 'c1' }), newCtx());
    assert.deepEqual(f.hops.map(([m, c]) => [m, c]), [['request', 'OK'], ['close', 'OK']]);
    assert.ok(f.hops.every(([, , s]) => s >= 0 && s < 1));
  });

  it('records the gRPC status of a failure and rethrows it', async () => {
    const f = fakeRecorder();
    const h = chain(hopMetrics(f.rec), element({ request: async () => { throw new NotFoundError('no endpoint'); } }));
    await assert.rejects(h.request(req(), newCtx()), /no endpoint/);
    assert.deepEqual(f.hops.map(([m, c]) => [m, c]), [['request', 'NOT_FOUND']]);
  });

  it('counts reselect requests', async () => {
    const f = fakeRecorder();
    const h = chain(hopMetrics(f.rec));
    await h.request(req(State.RESELECT_REQUESTED), newCtx());
    await h.request(req(), newCtx());
    assert.equal(f.reselects(), 1);
  });

  it('withHopMetrics returns the handler itself without a recorder', () => {
    const h: NetworkServiceHandler = chain();
    assert.equal(withHopMetrics(h), h);
    assert.notEqual(withHopMetrics(h, fakeRecorder().rec), h);
  });
});
