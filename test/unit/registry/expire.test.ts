import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkServiceEndpoint } from '../../../src/api/index.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { registryChain } from '../../../src/sdk/core/registry-chain.js';
import { DEFAULT_MAX_LIFETIME_MS, expireNSEElement, grantedExpiration } from '../../../src/sdk/registry/expire.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const d = (ms: number) => new Date(NOW + ms);

describe('grantedExpiration', () => {
  it('defaults to now + max lifetime', () => assert.deepEqual(grantedExpiration(undefined, undefined, NOW, 60_000), d(60_000)));
  it('keeps an earlier requested time', () => assert.deepEqual(grantedExpiration(d(2000), undefined, NOW, 60_000), d(2000)));
  it('caps a later requested time', () => assert.deepEqual(grantedExpiration(d(600_000), undefined, NOW, 60_000), d(60_000)));
  it('caps at the token expiry', () => assert.deepEqual(grantedExpiration(d(50_000), d(30_000), NOW, 60_000), d(30_000)));
  it('ignores a token expiry already passed', () => assert.deepEqual(grantedExpiration(d(5000), d(-1), NOW, 60_000), d(5000)));
});

describe('expireNSEElement', () => {
  it('sets expiration_time on the registration passed on', async () => {
    const chain = registryChain(expireNSEElement({ now: () => NOW }));
    const out = await chain.register(NetworkServiceEndpoint.fromPartial({ name: 'a' }), newCtx());
    assert.deepEqual(out.expirationTime, d(DEFAULT_MAX_LIFETIME_MS));
    const tok = await chain.register(
      NetworkServiceEndpoint.fromPartial({ name: 'a', expirationTime: d(10_000) }),
      newCtx({ incoming: { tokenExpires: d(5000) } }),
    );
    assert.deepEqual(tok.expirationTime, d(5000));
  });
});
