// watched-memo: answers reused briefly without a watch and long while their key's watch runs; every event
// of the watch drops the answer; a watch that ends falls back to brief reuse; idle watches stop; close stops all.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { watchedMemo, type Watch } from '../../../src/sdk/tools/watched-memo.js';

const OPTS = { ttlMs: 1000, watchedTtlMs: 30_000, idleMs: 60_000, maxWatches: 2 };

function fixture(opts = OPTS) {
  let t = 0;
  const lookups: string[] = [];
  const streams = new Map<string, { changed: () => void; ended: () => void; stopped: boolean }>();
  const watch: Watch = (key, changed, ended) => {
    const s = { changed, ended, stopped: false };
    streams.set(key, s);
    return () => {
      s.stopped = true;
    };
  };
  let n = 0;
  const memo = watchedMemo(opts, async (key) => (lookups.push(key), `${key}#${++n}`), watch, () => t);
  return { memo, lookups, streams, advance: (ms: number) => (t += ms) };
}

describe('watched-memo', () => {
  it('a watched key is answered from memory until its watch reports a change', async () => {
    const { memo, lookups, streams, advance } = fixture();
    assert.equal(await memo.get('a'), 'a#1');
    advance(20_000);
    assert.equal(await memo.get('a'), 'a#1', 'reused for 20 s while watched');
    streams.get('a')!.changed();
    assert.equal(await memo.get('a'), 'a#2', 'an event drops the answer');
    advance(31_000);
    assert.equal(await memo.get('a'), 'a#3', 'no answer is kept longer than watchedTtlMs');
    assert.deepEqual(lookups, ['a', 'a', 'a']);
    memo.close();
  });

  it('a watch that ends falls back to the short reuse, and a later lookup watches again', async () => {
    const { memo, streams, advance } = fixture();
    await memo.get('a');
    const first = streams.get('a')!;
    first.ended();
    assert.equal(memo.watching, 0);
    advance(500);
    assert.equal(await memo.get('a'), 'a#1', 'within ttlMs');
    assert.notEqual(streams.get('a'), first, 'watched again');
    assert.equal(memo.watching, 1);
    memo.close();
  });

  it('without a watch (none given, or over maxWatches) answers are reused for ttlMs only', async () => {
    const { memo, streams, advance } = fixture();
    await memo.get('a');
    await memo.get('b');
    await memo.get('c');
    assert.equal(memo.watching, 2);
    assert.equal(streams.has('c'), false);
    advance(1500);
    assert.equal(await memo.get('c'), 'c#4');
    assert.equal(await memo.get('a'), 'a#1');
    memo.close();
    const plain = watchedMemo(OPTS, async (k) => k + Date.now(), undefined);
    await plain.get('x');
    assert.equal(plain.watching, 0);
  });

  it('a failed lookup is not kept; an event during a lookup drops its answer', async () => {
    let fail = true;
    let t = 0;
    const ended: (() => void)[] = [];
    const changed: (() => void)[] = [];
    const memo = watchedMemo(
      OPTS,
      async (k) => {
        if (fail) throw new Error('down');
        changed[0]!(); // the registry changed while we asked
        return k;
      },
      (_k, c, e) => (changed.push(c), ended.push(e), () => undefined),
      () => t,
    );
    await assert.rejects(memo.get('a'), /down/);
    fail = false;
    assert.equal(await memo.get('a'), 'a');
    let calls = 0;
    const again = watchedMemo(OPTS, async (k) => (calls++, k), (_k, c) => (changed.splice(0, 1, c), () => undefined), () => t);
    await again.get('b');
    changed[0]!();
    await again.get('b');
    assert.equal(calls, 2);
    t += 1;
    memo.close();
    again.close();
  });

  it('close stops every watch', async () => {
    const { memo, streams } = fixture();
    await memo.get('a');
    await memo.get('b');
    memo.close();
    assert.equal(memo.watching, 0);
    assert.ok([...streams.values()].every((s) => s.stopped));
  });
});
