import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { nextUrlOf, setNextUrl } from '../../../src/sdk/tools/next-url.js';

describe('next-url', () => {
  it('is a per-call value: set, overwritten, absent in a fresh ctx', () => {
    const ctx = newCtx();
    assert.equal(nextUrlOf(ctx), undefined);
    setNextUrl(ctx, 'unix:///a.sock');
    assert.equal(nextUrlOf(ctx), 'unix:///a.sock');
    setNextUrl(ctx, 'tcp://b:1');
    assert.equal(nextUrlOf(ctx), 'tcp://b:1');
    assert.equal(nextUrlOf(newCtx({ metadata: ctx.metadata })), undefined, 'not kept per connection');
  });
});
