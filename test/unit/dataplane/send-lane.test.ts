// SendLane: at most `max` sends at once, the rest started in order as slots free up.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SendLane } from '../../../src/dataplane/send-lane.js';

describe('SendLane', () => {
  it('starts up to max at once and the waiting ones in order as each is released', () => {
    const lane = new SendLane(2);
    const started: number[] = [];
    for (let i = 0; i < 4; i++) lane.slot(() => started.push(i));
    assert.deepEqual(started, [0, 1]);
    assert.equal(lane.running, 2);
    lane.release();
    assert.deepEqual(started, [0, 1, 2]);
    lane.release();
    lane.release();
    assert.deepEqual(started, [0, 1, 2, 3]);
    assert.equal(lane.running, 1);
    lane.release();
    assert.equal(lane.running, 0);
  });

  it('lanes are independent: one full lane does not hold up another', () => {
    const [slow, ahead] = [new SendLane(1), new SendLane(1)];
    const started: string[] = [];
    slow.slot(() => started.push('delete 1'));
    slow.slot(() => started.push('delete 2'));
    ahead.slot(() => started.push('veth'));
    assert.deepEqual(started, ['delete 1', 'veth']);
  });
});
