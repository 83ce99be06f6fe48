import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { once } from 'node:events';
import { newCtx, throwIfAborted, withCtx } from '../../../src/sdk/core/ctx.js';
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
    throwIfAborted(ctx);
  });

  it('each newCtx gets its own values and metadata', () => {
    const a = newCtx();
    const b = newCtx();
    assert.notEqual(a.values, b.values);
    assert.notEqual(a.metadata, b.metadata);
  });

  it('uses the given logger, incoming and metadata', () => {
    const md = new Map<symbol, unknown>([[Symbol('x'), 1]]);
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
    assert.throws(() => throwIfAborted(ctx), (e: Error) => e.name === 'TimeoutError');
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
    assert.throws(() => throwIfAborted(ctx), /caller gave up/);
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
    assert.throws(() => throwIfAborted(ctx), (e: Error) => e.name === 'AbortError');
  });

  it('withCtx replaces fields and shares values', () => {
    const ctx = newCtx({ incoming: { token: 'a' } });
    const ac = new AbortController();
    const derived = withCtx(ctx, { signal: ac.signal, incoming: { token: 'b' } });
    assert.equal(derived.signal, ac.signal);
    assert.equal(derived.incoming.token, 'b');
    assert.equal(ctx.incoming.token, 'a');
    assert.equal(derived.values, ctx.values);
    assert.equal(derived.metadata, ctx.metadata);
    assert.equal(derived.log, ctx.log);
  });
});
