// backoff: delays grow by the multiplier up to the maximum, spread by the jitter, and reset.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff } from '../../../src/sdk/tools/backoff.js';

describe('Backoff', () => {
  it('without jitter: initial, doubled, capped at the maximum; reset starts again', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000, 1000]);
    b.reset();
    assert.equal(b.next(), 100);
  });

  it('defaults: 100 ms doubling to 2 s, ±20 %', () => {
    const low = new Backoff({ random: () => 0 });
    const high = new Backoff({ random: () => 0.999999 });
    assert.deepEqual([low.next(), low.next()], [80, 160]);
    assert.deepEqual([high.next(), high.next()], [120, 240]);
    for (let i = 0; i < 10; i++) low.next();
    assert.equal(low.currentMs, 2000);
    assert.equal(low.next(), 1600);
  });

  it('jitter spreads the delays of many clients around the base', () => {
    const delays = Array.from({ length: 200 }, () => new Backoff({ initialMs: 1000, jitter: 0.5 }).next());
    assert.ok(delays.every((d) => d >= 500 && d <= 1500), 'within ±50 %');
    assert.ok(new Set(delays).size > 50, 'not all the same');
  });

  it('another multiplier, and a steady interval (multiplier 1)', () => {
    const b = new Backoff({ initialMs: 10, multiplier: 3, maxMs: 100, jitter: 0 });
    assert.deepEqual([b.next(), b.next(), b.next(), b.next()], [10, 30, 90, 100]);
    const steady = new Backoff({ initialMs: 250, multiplier: 1, maxMs: 250, jitter: 0 });
    assert.deepEqual([steady.next(), steady.next()], [250, 250]);
  });

  it('bad options are clamped: no negative delay, no shrinking', () => {
    const b = new Backoff({ initialMs: -5, multiplier: 0.5, maxMs: -1, jitter: 7, random: () => 0 });
    assert.equal(b.next(), 0);
    const c = new Backoff({ initialMs: 100, multiplier: 0.5, maxMs: 50, jitter: 0 });
    assert.deepEqual([c.next(), c.next()], [100, 100]);
  });
});
