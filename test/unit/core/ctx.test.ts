import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { once } from 'node:events';
import { ContextValues, createContextKey, newCtx, newDeadlineCtx } from '../../../src/sdk/core/ctx.js';
import { silentLogger } from '../../../src/sdk/core/log.js';

/** Waits for `signal` to abort, keeping the event loop alive (AbortSignal.timeout is unref'd). */
async function aborted(signal: AbortSignal, maxMs = 5000): Promise<number> {
  const started = Date.now();
  const keepAlive = setTimeout(() => {}, maxMs);
  try {
    if (!signal.aborted) await once(signal, 'abort');
  } finally {
    clearTimeout(keepAlive);
  }
  return Date.now() - started;
}

describe('ctx', () => {
  it('newCtx() has defaults: a live signal, silent logger, empty incoming/values/metadata', () => {
    const ctx = newCtx();
    assert.equal(ctx.signal.aborted, false);
    assert.equal(ctx.log, silentLogger);
    assert.deepEqual(ctx.incoming, {});
    assert.equal(ctx.values.size, 0);
    assert.equal(ctx.metadata.size, 0);
    ctx.signal.throwIfAborted();
  });

  it('each newCtx gets its own values and metadata', () => {
    const a = newCtx();
    const b = newCtx();
    assert.notEqual(a.values, b.values);
    assert.notEqual(a.metadata, b.metadata);
  });

  it('uses the given logger, incoming and metadata', () => {
    const md = new ContextValues().set(createContextKey<number>('x'), 1);
    const incoming = { token: 't' };
    const ctx = newCtx({ log: silentLogger, incoming, metadata: md });
    assert.equal(ctx.incoming, incoming);
    assert.equal(ctx.metadata, md);
  });

  it('timeoutMs aborts the signal with a TimeoutError', async () => {
    const ctx = newCtx({ timeoutMs: 20 });
    assert.equal(ctx.signal.aborted, false);
    const took = await aborted(ctx.signal);
    assert.ok(took < 4000, `aborted after ${took}ms`);
    assert.equal((ctx.signal.reason as Error).name, 'TimeoutError');
    assert.throws(() => ctx.signal.throwIfAborted(), (e: Error) => e.name === 'TimeoutError');
  });

  it('newDeadlineCtx aborts at its deadline with a TimeoutError, like AbortSignal.timeout', async () => {
    const incoming = { token: 't' };
    const { ctx } = newDeadlineCtx({ timeoutMs: 20, log: silentLogger, incoming });
    assert.equal(ctx.incoming, incoming);
    assert.equal(ctx.signal.aborted, false);
    const took = await aborted(ctx.signal);
    assert.ok(took < 4000, `aborted after ${took}ms`);
    assert.equal((ctx.signal.reason as Error).name, 'TimeoutError');
    assert.ok(ctx.signal.reason instanceof Error);
  });

  it('newDeadlineCtx: end() cancels the deadline', async () => {
    const { ctx, end } = newDeadlineCtx({ timeoutMs: 10 });
    end();
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(ctx.signal.aborted, false);
  });

  it('timeoutMs 0 aborts (almost) at once', async () => {
    const ctx = newCtx({ timeoutMs: 0 });
    await aborted(ctx.signal);
    assert.equal(ctx.signal.aborted, true);
  });

  it('passes a lone caller signal through', () => {
    const ac = new AbortController();
    const ctx = newCtx({ signal: ac.signal });
    assert.equal(ctx.signal, ac.signal);
  });

  it('combined: the caller signal aborts before the deadline', async () => {
    const ac = new AbortController();
    const ctx = newCtx({ signal: ac.signal, timeoutMs: 60_000 });
    assert.equal(ctx.signal.aborted, false);
    const reason = new Error('caller gave up');
    ac.abort(reason);
    assert.equal(ctx.signal.aborted, true);
    assert.equal(ctx.signal.reason, reason);
    assert.throws(() => ctx.signal.throwIfAborted(), /caller gave up/);
  });

  it('combined: the deadline aborts while the caller signal stays live', async () => {
    const ac = new AbortController();
    const ctx = newCtx({ signal: ac.signal, timeoutMs: 20 });
    await aborted(ctx.signal);
    assert.equal((ctx.signal.reason as Error).name, 'TimeoutError');
    assert.equal(ac.signal.aborted, false);
  });

  it('combined: an already aborted caller signal gives an aborted ctx', () => {
    const ctx = newCtx({ signal: AbortSignal.abort(), timeoutMs: 60_000 });
    assert.equal(ctx.signal.aborted, true);
    assert.throws(() => ctx.signal.throwIfAborted(), (e: Error) => e.name === 'AbortError');
  });

  it('typed keys: default until set, set/get/delete, one key per meaning', () => {
    const count = createContextKey('count', 0);
    const name = createContextKey<string>('name');
    const other = createContextKey<string>('name'); // same description, another key
    const v = new ContextValues();
    assert.equal(v.get(count), 0);
    assert.equal(v.get(name), undefined);
    v.set(count, 3).set(name, 'a');
    assert.equal(v.get(count), 3);
    assert.equal(v.get(name), 'a');
    assert.equal(v.get(other), undefined);
    assert.equal(v.has(name), true);
    v.delete(name);
    assert.equal(v.has(name), false);
    assert.equal(v.size, 1);
  });

  it('a copy of ContextValues does not share later writes', () => {
    const k = createContextKey<string>('k');
    const a = new ContextValues().set(k, 'a');
    const b = new ContextValues(a);
    assert.equal(b.get(k), 'a');
    b.set(k, 'b');
    assert.equal(a.get(k), 'a');
  });
});
