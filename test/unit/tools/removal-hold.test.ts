// tools/removal-hold: a deletion starts after its hold unless Requests are being served (then at their end), never
// later than its maximum; hurry and flush start it at once; holdMs 0 runs it at once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RemovalHold } from '../../../src/sdk/tools/removal-hold.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function job() {
  const j = { started: false, run: async () => ((j.started = true), 'gone') };
  return j;
}

describe('RemovalHold', () => {
  it('holdMs 0: the deletion starts at once', async () => {
    const h = new RemovalHold(0);
    const j = job();
    const { done } = h.schedule(j.run);
    assert.equal(j.started, true);
    assert.equal(await done, 'gone');
    assert.equal(h.size, 0);
  });

  it('starts after its hold when no Request is being served', async () => {
    const h = new RemovalHold(20);
    const j = job();
    const { done } = h.schedule(j.run);
    await sleep(5);
    assert.equal(j.started, false);
    assert.equal(h.size, 1);
    assert.equal(await done, 'gone');
    assert.equal(h.size, 0);
  });

  it('while a Request is being served it waits for its end', async () => {
    const h = new RemovalHold(10, 1000);
    const j = job();
    h.begin();
    void h.schedule(j.run);
    await sleep(30);
    assert.equal(j.started, false, 'held while the Request is served');
    h.end();
    assert.equal(j.started, true, 'started at the end of the Request');
  });

  it('a Request that ends before the hold is over does not start it early', async () => {
    const h = new RemovalHold(30, 1000);
    const j = job();
    void h.schedule(j.run);
    h.begin();
    h.end();
    assert.equal(j.started, false);
    await sleep(45);
    assert.equal(j.started, true);
  });

  it('never later than its maximum, even while Requests are being served', async () => {
    const h = new RemovalHold(5, 25);
    const j = job();
    h.begin();
    const { done } = h.schedule(j.run);
    assert.equal(await done, 'gone');
    h.end();
  });

  it('hurry starts it at once; flush starts every held one and waits for them', async () => {
    const h = new RemovalHold(10_000);
    const [a, b] = [job(), job()];
    const ha = h.schedule(a.run);
    h.schedule(b.run);
    ha.hurry();
    assert.equal(a.started, true);
    assert.equal(b.started, false);
    await h.flush();
    assert.equal(b.started, true);
    assert.equal(h.size, 0);
  });

  it('a failing deletion rejects its promise and does not stop flush', async () => {
    const h = new RemovalHold(10_000);
    const { done } = h.schedule(() => Promise.reject(new Error('ENODEV')));
    const flushed = h.flush();
    await assert.rejects(done, /ENODEV/);
    await flushed;
  });
});
