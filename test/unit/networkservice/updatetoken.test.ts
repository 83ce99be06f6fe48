import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection, NetworkServiceRequest } from '../../../src/api/index.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { newTokenSigner, verifyToken } from '../../../src/sdk/core/token.js';
import { updateToken } from '../../../src/sdk/networkservice/updatetoken.js';
import { recorder } from './helpers.js';

const twoHops = () =>
  Connection.fromPartial({
    id: 'n1',
    path: {
      index: 1,
      pathSegments: [
        { name: 'client', id: 'c1' },
        { name: 'nsmgr', id: 'n1' },
        { name: 'fwd', id: 'f1' },
      ],
    },
  });

describe('updatetoken', () => {
  it("signs this hop's segment for its name (audience: the next segment)", async () => {
    const signer = await newTokenSigner(60_000);
    const rec = recorder();
    await chain(updateToken(signer), rec).request(NetworkServiceRequest.fromPartial({ connection: twoHops() }), newCtx());
    const seg = rec.requests[0]!.conn.path!.pathSegments[1]!;
    const v = await verifyToken(seg.token);
    assert.equal(v.subject, 'nsmgr');
    assert.equal(seg.expires!.getTime(), v.expires.getTime());
    const aud = JSON.parse(Buffer.from(seg.token.split('.')[1]!, 'base64url').toString()).aud;
    assert.equal(aud, 'fwd');
  });

  it("records the caller's token and expiry in the previous segment", async () => {
    const callerSigner = await newTokenSigner(30_000);
    const caller = await callerSigner.sign('client');
    const signer = await newTokenSigner(60_000);
    const rec = recorder();
    const ctx = newCtx({ incoming: { token: caller.token, tokenExpires: caller.expires } });
    await chain(updateToken(signer), rec).request(NetworkServiceRequest.fromPartial({ connection: twoHops() }), ctx);
    const prev = rec.requests[0]!.conn.path!.pathSegments[0]!;
    assert.equal(prev.token, caller.token);
    assert.equal(prev.expires!.getTime(), caller.expires.getTime());
  });

  it('an insecure caller (no token) gets our lifetime on its segment', async () => {
    const signer = await newTokenSigner(45_000);
    const rec = recorder();
    const t0 = Date.now();
    await chain(updateToken(signer), rec).request(NetworkServiceRequest.fromPartial({ connection: twoHops() }), newCtx());
    const prev = rec.requests[0]!.conn.path!.pathSegments[0]!;
    assert.equal(prev.token, '');
    assert.ok(Math.abs(prev.expires!.getTime() - (t0 + 45_000)) < 1000);
  });

  it('the first segment (a client) has no previous segment to touch; close signs too', async () => {
    const signer = await newTokenSigner();
    const rec = recorder();
    const conn = Connection.fromPartial({ id: 'c', path: { index: 0, pathSegments: [{ name: 'client', id: 'c' }] } });
    await chain(updateToken(signer), rec).close(conn, newCtx({ incoming: { token: 'ignored' } }));
    const segs = rec.closes[0]!.conn.path!.pathSegments;
    assert.equal(segs.length, 1);
    assert.equal((await verifyToken(segs[0]!.token)).subject, 'client');
  });
});
