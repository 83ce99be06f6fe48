// sleep: waits, or ends at once on abort (clearing its timer), and never rejects.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep } from '../../../src/sdk/tools/sleep.js';

describe('sleep', () => {
  it('resolves true after the time', async () => {
    const started = performance.now();
    assert.equal(await sleep(20), true);
    assert.ok(performance.now() - started >= 15);
  });

  it('resolves false at once when the signal aborts', async () => {
    const ac = new AbortController();
    const started = performance.now();
    const p = sleep(60_000, ac.signal);
    ac.abort(new Error('closing'));
    assert.equal(await p, false);
    assert.ok(performance.now() - started < 1000);
  });

  it('an already aborted signal ends it before any timer', async () => {
    assert.equal(await sleep(60_000, AbortSignal.abort()), false);
  });

  it('an unref wait does not keep the process alive; an ordinary one does', async () => {
    const keepAlive = setTimeout(() => {}, 1000);
    assert.equal(await sleep(5, undefined, { unref: true }), true);
    clearTimeout(keepAlive);
    assert.equal(await sleep(5), true);
  });

  it('leaves no abort listener behind after the time passed', async () => {
    const ac = new AbortController();
    let added = 0;
    let removed = 0;
    const add = ac.signal.addEventListener.bind(ac.signal);
    const remove = ac.signal.removeEventListener.bind(ac.signal);
    ac.signal.addEventListener = ((...a: Parameters<typeof add>) => (added++, add(...a)));
    ac.signal.removeEventListener = ((...a: Parameters<typeof remove>) => (removed++, remove(...a)));
    assert.equal(await sleep(5, ac.signal), true);
    assert.deepEqual([added, removed], [1, 1]);
  });
});
