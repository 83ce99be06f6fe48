// segment-stats: the forwarder's own segment gets the counters of its connection (by segment id); others are untouched.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection, NetworkServiceRequest } from '../../../src/api/index.js';
import { chain, element } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { segmentStats } from '../../../src/sdk/networkservice/segment-stats.js';

const conn = () =>
  Connection.fromPartial({
    id: 'n1',
    path: { index: 1, pathSegments: [{ name: 'nsc', id: 'c1' }, { name: 'nsmgr', id: 'n1' }, { name: 'fwd', id: 'f1', metrics: { old: '1' } }, { name: 'nse', id: 'e1' }] },
  });

describe('segment-stats', () => {
  it('fills this hop segment metrics from the source, by its own id', async () => {
    const asked: string[] = [];
    const h = chain(
      segmentStats('fwd', { segmentMetrics: async (id) => (asked.push(id), { 'nsm-1_rx_bytes': '42' }) }),
      element({ request: async () => conn() }),
    );
    const out = await h.request(NetworkServiceRequest.fromPartial({}), newCtx());
    assert.deepEqual(asked, ['f1']);
    assert.deepEqual(out.path!.pathSegments[2]!.metrics, { old: '1', 'nsm-1_rx_bytes': '42' });
    assert.deepEqual(out.path!.pathSegments[1]!.metrics, {});
  });

  it('tells the source when this hop got a new segment (links made in this Request), not on a refresh', async () => {
    const asked: [string, boolean][] = [];
    const h = chain(
      segmentStats('fwd', { segmentMetrics: async (id, opts) => (asked.push([id, opts?.fresh ?? false]), {}) }),
      element({ request: async () => conn() }),
    );
    // first Request: the caller's path ends before this hop
    await h.request(NetworkServiceRequest.fromPartial({ connection: { path: { index: 1, pathSegments: [{ name: 'nsc', id: 'c1' }, { name: 'nsmgr', id: 'n1' }] } } }), newCtx());
    // refresh: the caller sends back the path with this hop's segment
    await h.request(NetworkServiceRequest.fromPartial({ connection: conn() }), newCtx());
    // a segment of this name with another id (the hop gave the connection a new one)
    const moved = conn();
    moved.path!.pathSegments[2]!.id = 'f0';
    await h.request(NetworkServiceRequest.fromPartial({ connection: moved }), newCtx());
    assert.deepEqual(asked, [['f1', true], ['f1', false], ['f1', true]]);
  });

  it('leaves the connection alone when the source has nothing or fails', async () => {
    const h = chain(segmentStats('fwd', { segmentMetrics: async () => { throw new Error('no root'); } }), element({ request: async () => conn() }));
    const out = await h.request(NetworkServiceRequest.fromPartial({}), newCtx());
    assert.deepEqual(out.path!.pathSegments[2]!.metrics, { old: '1' });
  });
});
