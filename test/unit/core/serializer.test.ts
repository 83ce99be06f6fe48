import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { KeyedSerializer } from '../../../src/sdk/core/serializer.js';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('KeyedSerializer', () => {
  it('runs work for the same key one at a time, in arrival order', async () => {
    const s = new KeyedSerializer();
    const log: string[] = [];
    const gate1 = deferred();
    const gate2 = deferred();
    const p1 = s.run('k', async () => {
      log.push('1 start');
      await gate1.promise;
      log.push('1 end');
      return 1;
    });
    const p2 = s.run('k', async () => {
      log.push('2 start');
      await gate2.promise;
      log.push('2 end');
      return 2;
    });
    const p3 = s.run('k', async () => {
      log.push('3 start');
      return 3;
    });
    await tick();
    assert.deepEqual(log, ['1 start']);
    gate2.resolve(); // releasing the second early must not let it start
    await tick();
    assert.deepEqual(log, ['1 start']);
    gate1.resolve();
    assert.deepEqual(await Promise.all([p1, p2, p3]), [1, 2, 3]);
    assert.deepEqual(log, ['1 start', '1 end', '2 start', '2 end', '3 start']);
  });

  it('runs work for different keys concurrently', async () => {
    const s = new KeyedSerializer();
    const a = deferred();
    const b = deferred();
    const started: string[] = [];
    const pa = s.run('a', async () => {
      started.push('a');
      await a.promise;
    });
    const pb = s.run('b', async () => {
      started.push('b');
      await b.promise;
    });
    await tick();
    assert.deepEqual(started.sort(), ['a', 'b']);
    assert.equal(s.size, 2);
    b.resolve();
    a.resolve();
    await Promise.all([pa, pb]);
  });

  it('continues after a failure and reports it only to its own caller', async () => {
    const s = new KeyedSerializer();
    const p1 = s.run('k', async () => {
      throw new Error('first');
    });
    const p2 = s.run('k', async () => 'second');
    await assert.rejects(p1, /first/);
    assert.equal(await p2, 'second');
  });

  it('forgets a key once its work has settled', async () => {
    const s = new KeyedSerializer();
    assert.equal(s.size, 0);
    const gate = deferred();
    const p = s.run('k', () => gate.promise);
    assert.equal(s.size, 1);
    gate.resolve();
    await p;
    await tick();
    assert.equal(s.size, 0);
    await assert.rejects(
      s.run('k', async () => {
        throw new Error('x');
      }),
    );
    await tick();
    assert.equal(s.size, 0);
  });
});
