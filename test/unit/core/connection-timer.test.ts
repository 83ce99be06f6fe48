// connection-timer: one timer per connection and key; setting replaces, clearing cancels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { clearConnectionTimer, connectionTimerKey, setConnectionTimer } from '../../../src/sdk/core/connection-timer.js';

const KEY = connectionTimerKey('test.timer');

test('a new timer replaces the old one; only the last fires', async () => {
  const ctx = newCtx();
  const fired: string[] = [];
  setConnectionTimer(ctx, KEY, 10, () => fired.push('first'));
  setConnectionTimer(ctx, KEY, 20, () => fired.push('second'));
  await sleep(40);
  assert.deepEqual(fired, ['second']);
});

test('clearing cancels the timer and forgets it', async () => {
  const ctx = newCtx();
  let fired = false;
  setConnectionTimer(ctx, KEY, 10, () => (fired = true));
  clearConnectionTimer(ctx, KEY);
  assert.equal(ctx.metadata.has(KEY), false);
  await sleep(25);
  assert.equal(fired, false);
  clearConnectionTimer(ctx, KEY); // harmless twice
});
