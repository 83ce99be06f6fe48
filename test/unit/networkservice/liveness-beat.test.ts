// liveness-beat: many connections' periodic checks on one timer: each member runs once per
// interval on its own slot, members are spread over the slots, stopping one stops it, and the
// timer exists only while someone is registered.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LivenessBeat } from '../../../src/sdk/networkservice/liveness-beat.js';
import { trackTimers, until } from './heal-fakes.js';

describe('liveness-beat', () => {
  it('one timer for all members; each runs about once per interval, spread over the slots', async (t) => {
    const timers = trackTimers(t);
    const beat = new LivenessBeat(50);
    const runs = new Array<number>(20).fill(0);
    const firstAt: number[] = [];
    const t0 = Date.now();
    const stops = runs.map((_, i) => beat.add(() => (runs[i]!++ === 0 && (firstAt[i] = Date.now() - t0), undefined)));
    assert.equal(timers.pending, 1, 'one timer, not one per member');
    await until(() => runs.every((n) => n >= 3), 3000, 'every member ran three times');
    const max = Math.max(...runs);
    const min = Math.min(...runs);
    assert.ok(max - min <= 2, `even: ${runs.join(',')}`);
    assert.ok(new Set(firstAt.map((ms) => Math.floor(ms / 5))).size > 1, 'members start on different slots');
    stops.forEach((stop) => stop());
    assert.equal(timers.pending, 0, 'no timer once the last member stopped');
  });

  it('a stopped member no longer runs; stopping twice is harmless; intervals below the slot count still work', async (t) => {
    trackTimers(t);
    const beat = new LivenessBeat(3);
    let a = 0;
    let b = 0;
    const stopA = beat.add(() => void a++);
    const stopB = beat.add(() => void b++);
    await until(() => a >= 2 && b >= 2, 2000);
    stopA();
    stopA();
    const frozen = a;
    const bNow = b;
    await until(() => b >= bNow + 3, 2000);
    assert.equal(a, frozen);
    stopB();
  });
});
