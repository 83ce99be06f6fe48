import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Status } from '../../../src/api/errors.js';
import { newTokenSigner, verifyToken } from '../../../src/sdk/core/token.js';
import { hasCode, tamper } from './helpers.js';

describe('token', () => {
  it('a signed token verifies with its subject and expiry', async () => {
    const signer = await newTokenSigner(60_000);
    const t = await signer.sign('nsmgr-1', 'fwd-1');
    assert.equal(signer.lifetimeMs, 60_000);
    const v = await verifyToken(t.token);
    assert.equal(v.subject, 'nsmgr-1');
    assert.equal(v.expires.getTime(), t.expires.getTime());
    assert.ok(Math.abs(t.expires.getTime() - (Date.now() + 60_000)) < 2000);
    assert.equal(t.expires.getMilliseconds(), 0, 'expiry is whole seconds, as in the JWT');
  });

  it('a tampered payload is PERMISSION_DENIED', async () => {
    const signer = await newTokenSigner();
    const t = await signer.sign('nsmgr-1');
    await assert.rejects(verifyToken(tamper(t.token, { sub: 'evil' })), hasCode(Status.PERMISSION_DENIED, /invalid token/));
  });

  it('an expired token is PERMISSION_DENIED', async () => {
    const signer = await newTokenSigner(1);
    const t = await signer.sign('nsmgr-1');
    await sleep(5);
    await assert.rejects(verifyToken(t.token), hasCode(Status.PERMISSION_DENIED, /exp/));
  });

  it('garbage is PERMISSION_DENIED', async () => {
    await assert.rejects(verifyToken('not-a-jwt'), hasCode(Status.PERMISSION_DENIED));
  });
});
