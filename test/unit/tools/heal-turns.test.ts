// heal-turns: at most `perUrl` turns per URL at a time, the rest wait first come first served; a wait ends
// when its signal aborts; giving a turn back twice counts once; URLs do not share turns.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { healTurns } from '../../../src/sdk/tools/heal-turns.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('heal-turns', () => {
  it('gives at most perUrl turns per URL, then hands them on in arrival order', async () => {
    const turns = healTurns(2);
    const signal = new AbortController().signal;
    const order: number[] = [];
    const held: (() => void)[] = [];
    const wait = [0, 1, 2, 3].map((i) => turns.enter('u', signal).then((r) => (order.push(i), held.push(r))));
    await tick();
    assert.deepEqual(order, [0, 1]);
    const other = await turns.enter('v', signal); // another URL has its own turns
    other();
    held[0]!();
    held[0]!(); // twice counts once
    await tick();
    assert.deepEqual(order, [0, 1, 2]);
    held[1]!();
    await Promise.all(wait);
    assert.deepEqual(order, [0, 1, 2, 3]);
    held[2]!();
    held[3]!();
    // All given back: two new turns at once.
    const a = await turns.enter('u', signal);
    const b = await turns.enter('u', signal);
    a();
    b();
  });

  it('a wait ends when its signal aborts, and the waiter is skipped', async () => {
    const turns = healTurns(1);
    const first = await turns.enter('u', new AbortController().signal);
    const ac = new AbortController();
    const gone = turns.enter('u', ac.signal);
    let got = false;
    const next = turns.enter('u', new AbortController().signal).then((r) => ((got = true), r));
    ac.abort(new Error('closed'));
    await assert.rejects(gone, /closed/);
    first();
    (await next)();
    assert.ok(got);
    await assert.rejects(turns.enter('u', ac.signal), /closed/);
  });
});
