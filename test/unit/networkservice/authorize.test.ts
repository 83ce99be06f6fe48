import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Connection, NetworkServiceRequest } from '../../../src/api/index.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { Status } from '../../../src/api/errors.js';
import { newTokenSigner, type TokenSigner } from '../../../src/sdk/core/token.js';
import { authorize } from '../../../src/sdk/networkservice/authorize.js';
import { updatePath } from '../../../src/sdk/networkservice/updatepath.js';
import { updateToken } from '../../../src/sdk/networkservice/updatetoken.js';
import { hasCode, recorder, tamper } from './helpers.js';

/** A connection as the client sends it: its own segment carrying `token`. */
const fromClient = (token = '') =>
  Connection.fromPartial({ id: 'c1', path: { index: 0, pathSegments: [{ name: 'client', id: 'c1', token }] } });

/** The server side: updatepath -> authorize -> updatetoken -> rec. */
async function server(opts: { requireToken?: boolean } = {}) {
  const rec = recorder();
  const handler = chain(updatePath('nsmgr'), authorize(opts), updateToken(await newTokenSigner()), rec);
  return { rec, handler };
}

async function send(handler: Awaited<ReturnType<typeof server>>['handler'], conn: Connection, token?: string) {
  return handler.request(NetworkServiceRequest.fromPartial({ connection: conn }), newCtx({ incoming: token ? { token } : {} }));
}

describe('authorize', () => {
  let client: TokenSigner;

  it('a valid token from the previous segment is accepted and recorded in that segment', async () => {
    client = await newTokenSigner();
    const { token } = await client.sign('client', 'nsmgr');
    const { rec, handler } = await server();
    await send(handler, fromClient(token), token);
    assert.equal(rec.requests.length, 1);
    assert.equal(rec.requests[0]!.conn.path!.pathSegments[0]!.token, token);
  });

  it('a tampered token is PERMISSION_DENIED', async () => {
    const { token } = await client.sign('client');
    const bad = tamper(token, { exp: Math.floor(Date.now() / 1000) + 999_999 });
    const { rec, handler } = await server();
    await assert.rejects(send(handler, fromClient(bad), bad), hasCode(Status.PERMISSION_DENIED, /invalid token/));
    assert.equal(rec.requests.length, 0);
  });

  it('an expired token is PERMISSION_DENIED', async () => {
    const shortLived = await newTokenSigner(1);
    const { token } = await shortLived.sign('client');
    await sleep(5);
    const { rec, handler } = await server();
    await assert.rejects(send(handler, fromClient(token), token), hasCode(Status.PERMISSION_DENIED, /exp/));
    assert.equal(rec.requests.length, 0);
  });

  it("a token issued to someone other than the previous segment's name is PERMISSION_DENIED", async () => {
    const { token } = await client.sign('mallory');
    const { rec, handler } = await server();
    await assert.rejects(send(handler, fromClient(token), token), hasCode(Status.PERMISSION_DENIED, /mallory/));
    assert.equal(rec.requests.length, 0);
  });

  it('a path segment token other than the metadata token is PERMISSION_DENIED', async () => {
    const a = await client.sign('client');
    const other = await (await newTokenSigner()).sign('client');
    const { rec, handler } = await server();
    await assert.rejects(send(handler, fromClient(other.token), a.token), hasCode(Status.PERMISSION_DENIED, /tampered/));
    assert.equal(rec.requests.length, 0);
  });

  it('a token without a path is PERMISSION_DENIED', async () => {
    const { token } = await client.sign('client');
    const rec = recorder();
    const handler = chain(authorize(), rec);
    await assert.rejects(send(handler, Connection.fromPartial({ id: 'x' }), token), hasCode(Status.PERMISSION_DENIED, /without a path/));
  });

  it('no token is allowed (insecure mode)', async () => {
    const { rec, handler } = await server();
    await send(handler, fromClient());
    assert.equal(rec.requests.length, 1);
  });

  it('no token, but a forged token in the path segment, is still checked', async () => {
    const { token } = await client.sign('mallory');
    const { rec, handler } = await server();
    await assert.rejects(send(handler, fromClient(token)), hasCode(Status.PERMISSION_DENIED, /mallory/));
    assert.equal(rec.requests.length, 0);
  });

  it('no token with requireToken is PERMISSION_DENIED, for Request and Close', async () => {
    const { rec, handler } = await server({ requireToken: true });
    await assert.rejects(send(handler, fromClient()), hasCode(Status.PERMISSION_DENIED, /missing/));
    await assert.rejects(handler.close(fromClient(), newCtx()), hasCode(Status.PERMISSION_DENIED, /missing/));
    assert.equal(rec.requests.length + rec.closes.length, 0);
  });

  it('close with a valid token passes', async () => {
    const { token } = await client.sign('client');
    const { rec, handler } = await server({ requireToken: true });
    await handler.close(fromClient(token), newCtx({ incoming: { token } }));
    assert.equal(rec.closes.length, 1);
  });
});
