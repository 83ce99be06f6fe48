// admission: at most `concurrency` holders, a bounded FIFO queue, refusal (RESOURCE_EXHAUSTED) when the queue
// is full or a wait runs past maxWaitMs, and a waiter whose signal aborts leaves the queue.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResourceExhaustedError } from '../../../src/api/errors.js';
import { Admission } from '../../../src/sdk/tools/admission.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('admission', () => {
  it('admits `concurrency` at once, queues the next ones in order, refuses beyond the queue', async () => {
    const a = new Admission({ concurrency: 2, queue: 2, maxWaitMs: 10_000, what: 'forwarder x' });
    const r1 = await a.enter();
    const r2 = await a.enter();
    const order: number[] = [];
    const w3 = a.enter().then((r) => (order.push(3), r));
    const w4 = a.enter().then((r) => (order.push(4), r));
    assert.equal(a.full, true);
    await assert.rejects(a.enter(), (e: unknown) => e instanceof ResourceExhaustedError && /forwarder x is busy \(2 in progress and 2 waiting/.test(e.message));
    r1();
    r1(); // a second call of the same release changes nothing
    const r3 = await w3;
    assert.deepEqual(order, [3]);
    assert.equal(a.active, 2);
    r2();
    const r4 = await w4;
    assert.deepEqual(order, [3, 4]);
    r3();
    r4();
    assert.equal(a.active, 0);
    assert.equal(a.waiters, 0);
  });

  it('refuses a waiter after maxWaitMs and drops a waiter whose signal aborts', async () => {
    const a = new Admission({ concurrency: 1, queue: 5, maxWaitMs: 30 });
    const r1 = await a.enter();
    await assert.rejects(a.enter(), (e: unknown) => e instanceof ResourceExhaustedError && /no turn within 30 ms/.test(e.message));
    const ac = new AbortController();
    const w = a.enter(ac.signal);
    await tick();
    assert.equal(a.waiters, 1);
    ac.abort(new Error('caller left'));
    await assert.rejects(w, /caller left/);
    assert.equal(a.waiters, 0);
    r1();
    assert.equal(a.active, 0, 'nobody was waiting any more');
    await assert.rejects(a.enter(AbortSignal.abort()), { name: 'AbortError' });
  });
  it('serves the newest waiter first once the oldest has waited lifoAfterMs (adaptive LIFO)', async () => {
    const a = new Admission({ concurrency: 1, queue: 5, maxWaitMs: 10_000, lifoAfterMs: 30 });
    const r1 = await a.enter();
    const order: string[] = [];
    const old = a.enter().then((r) => (order.push('old'), r));
    await new Promise((r) => setTimeout(r, 40));
    const young = a.enter().then((r) => (order.push('young'), r));
    r1();
    (await young)();
    (await old)();
    assert.deepEqual(order, ['young', 'old']);
  });
});
