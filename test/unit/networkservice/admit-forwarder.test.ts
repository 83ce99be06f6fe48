// admit-forwarder: Requests from local clients (path index 1) to one forwarder URL go through a few at a
// time, the rest queue or are refused; Requests from other nodes are never held; `full` tells refuse-early.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkServiceRequest } from '../../../src/api/index.js';
import { ResourceExhaustedError } from '../../../src/api/errors.js';
import { chain, element } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { setNextUrl } from '../../../src/sdk/tools/next-url.js';
import { admitForwarder } from '../../../src/sdk/networkservice/admit-forwarder.js';
import { recorder } from './helpers.js';

const URL = 'unix:///run/fwd.sock';
const req = (id: string, index = 1) =>
  NetworkServiceRequest.fromPartial({ connection: { id, path: { index, pathSegments: [{ name: 'a', id }, { name: 'b', id }, { name: 'c', id }, { name: 'd', id }] } } });

function setup() {
  const gates: (() => void)[] = [];
  let inFlight = 0;
  let peak = 0;
  const admission = admitForwarder({ concurrency: 2, queue: 1, maxWaitMs: 10_000 });
  const handler = chain(
    element({
      async request(r, ctx, next) {
        setNextUrl(ctx, URL);
        return next.request(r, ctx);
      },
    }),
    admission,
    element({
      async request(r, ctx, next) {
        peak = Math.max(peak, ++inFlight);
        await new Promise<void>((res) => gates.push(res));
        inFlight--;
        return next.request(r, ctx);
      },
    }),
    recorder(),
  );
  return { admission, handler, gates, peak: () => peak };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('admit-forwarder', () => {
  it('lets 2 local Requests through to a forwarder, queues 1, refuses the next; all finish in turn', async () => {
    const { admission, handler, gates, peak } = setup();
    const calls = ['c1', 'c2', 'c3'].map((id) => handler.request(req(id), newCtx()));
    await tick();
    assert.equal(gates.length, 2);
    assert.equal(admission.full(URL), true);
    await assert.rejects(handler.request(req('c4'), newCtx()), ResourceExhaustedError);
    gates.shift()!();
    await tick();
    assert.equal(gates.length, 2, 'the queued one got its turn');
    assert.equal(admission.full(URL), false);
    gates.splice(0).forEach((g) => g());
    const done = await Promise.all(calls);
    assert.deepEqual(done.map((c) => c.id), ['c1', 'c2', 'c3']);
    assert.equal(peak(), 2);
    assert.equal(admission.full('unix:///run/other.sock'), false);
  });

  it('never holds a Request from another node (path index 3)', async () => {
    const { handler, gates } = setup();
    const calls = ['r1', 'r2', 'r3', 'r4'].map((id) => handler.request(req(id, 3), newCtx()));
    await tick();
    assert.equal(gates.length, 4);
    gates.splice(0).forEach((g) => g());
    assert.equal((await Promise.all(calls)).length, 4);
  });
});
