import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Clock } from '../../../src/sdk/core/clock.js';
import { newTokenSigner, type TokenSigner } from '../../../src/sdk/core/token.js';
import { cachingSigner, verifyTokenCached } from '../../../src/sdk/core/token-cache.js';

/** A clock whose time only moves when told. */
function manualClock(start = Date.now()): Clock & { advance(ms: number): void } {
  let now = start;
  const c = { now: () => now, advance: (ms: number) => (now += ms) };
  return c as unknown as Clock & { advance(ms: number): void };
}

function counting(signer: TokenSigner): TokenSigner & { count: number } {
  const s = { lifetimeMs: signer.lifetimeMs, count: 0, sign: (sub: string, aud?: string) => (s.count++, signer.sign(sub, aud)) };
  return s;
}

describe('token cache', () => {
  it('reuses the token of a path segment while most of its life is left, then signs again', async () => {
    const clock = manualClock();
    const inner = counting(await newTokenSigner(60_000, clock));
    const signer = cachingSigner(inner, { clock });
    const a = await signer.sign('nsmgr', 'fwd');
    assert.equal((await signer.sign('nsmgr', 'fwd')).token, a.token);
    assert.equal(inner.count, 1);
    clock.advance(14_000); // 46 s of 60 left: still most of its life
    assert.equal((await signer.sign('nsmgr', 'fwd')).token, a.token);
    clock.advance(2_000); // 44 s left: under 3/4
    const b = await signer.sign('nsmgr', 'fwd');
    assert.notEqual(b.token, a.token);
    assert.equal(inner.count, 2);
    assert.ok(b.expires.getTime() > a.expires.getTime());
  });

  it('keys tokens by subject and audience', async () => {
    const inner = counting(await newTokenSigner(60_000));
    const signer = cachingSigner(inner);
    const x = await signer.sign('nsmgr', 'fwd-1');
    const y = await signer.sign('nsmgr', 'fwd-2');
    const z = await signer.sign('nsmgr');
    assert.equal(new Set([x.token, y.token, z.token]).size, 3);
    assert.equal(inner.count, 3);
  });

  it('minRemaining 1 turns reuse off', async () => {
    const inner = counting(await newTokenSigner(60_000));
    const signer = cachingSigner(inner, { minRemaining: 1 });
    await signer.sign('a');
    await signer.sign('a');
    assert.equal(inner.count, 2);
  });

  it('remembers verified tokens until they expire, never failures', async () => {
    const clock = manualClock();
    const signer = await newTokenSigner(2_000, clock);
    const t = await signer.sign('nsmgr');
    assert.equal((await verifyTokenCached(t.token, clock)).subject, 'nsmgr');
    assert.equal((await verifyTokenCached(t.token, clock)).subject, 'nsmgr');
    clock.advance(3_000);
    await assert.rejects(verifyTokenCached(t.token, clock), /invalid token/);
    await assert.rejects(verifyTokenCached(`${t.token}x`, clock), /invalid token/);
  });
});
