import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection, NetworkServiceRequest } from '../../../src/api/index.js';
import { Status, statusOf } from '../../../src/api/errors.js';
import { begin, EVENT_FACTORY } from '../../../src/sdk/core/begin.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx, type Ctx, type Incoming } from '../../../src/sdk/core/ctx.js';
import { newTokenSigner, type TokenSigner } from '../../../src/sdk/core/token.js';
import { connectionOwner } from '../../../src/sdk/networkservice/connection-owner.js';
import { updatePath } from '../../../src/sdk/networkservice/updatepath.js';
import { recorder } from './helpers.js';

/** The forwarder's view: path [client, nsmgr, forwarder] sent by nsmgr, client's token in segment 0. */
async function path(client: TokenSigner, nsmgr: TokenSigner) {
  const c = (await client.sign('client')).token;
  const n = (await nsmgr.sign('nsmgr')).token;
  const conn = Connection.fromPartial({
    id: 'n1',
    path: { index: 1, pathSegments: [{ name: 'client', id: 'c1', token: c }, { name: 'nsmgr', id: 'n1', token: n }, { name: 'forwarder', id: 'f1' }] },
  });
  return { conn, token: n };
}

function hop() {
  const rec = recorder();
  let factoryCtx: Ctx | undefined;
  const spy = { request: async (r: NetworkServiceRequest, ctx: Ctx, next: Parameters<typeof rec.request>[2]) => ((factoryCtx = ctx), next.request(r, ctx)), close: async (c: Connection, ctx: Ctx, next: Parameters<typeof rec.close>[2]) => next.close(c, ctx) };
  const h = chain(updatePath('forwarder', { server: true }), begin(), spy, connectionOwner(), rec);
  return { h, rec, factory: () => factoryCtx!.values.get(EVENT_FACTORY)! };
}

const denied = (name: RegExp) => (err: unknown) => statusOf(err) === Status.PERMISSION_DENIED && name.test(String((err as Error).message));
const req = (conn: Connection) => NetworkServiceRequest.fromPartial({ connection: Connection.fromPartial(conn) });
const ctxOf = (incoming: Incoming) => newCtx({ incoming });

describe('connection-owner', () => {
  it('insecure: the caller that established it may refresh and Close; a Close with no token or another key is refused and changes nothing', async () => {
    const client = await newTokenSigner();
    const nsmgr = await newTokenSigner();
    const attacker = await newTokenSigner();
    const { h, rec, factory } = hop();
    const { conn, token } = await path(client, nsmgr);
    await h.request(req(conn), ctxOf({ token }));
    await h.request(req(conn), ctxOf({ token: (await nsmgr.sign('nsmgr')).token }));
    await assert.rejects(h.close(Connection.fromPartial(conn), ctxOf({})), denied(/^connection-owner: .*no nsm-client-token/));
    const forged = await path(attacker, attacker);
    await assert.rejects(h.close(Connection.fromPartial(forged.conn), ctxOf({ token: forged.token })), denied(/^connection-owner: .*not signed by the key/));
    await assert.rejects(h.request(req(forged.conn), ctxOf({ token: forged.token })), denied(/^connection-owner: Request/));
    assert.equal(rec.closes.length, 0, 'nothing closed');
    // The connection is still held: a background refresh works, and its owner can close it.
    await factory().request();
    const again = await path(client, nsmgr);
    await h.close(again.conn, ctxOf({ token: again.token }));
    assert.equal(rec.closes.length, 1);
  });

  it('insecure: a connection established with no token and no process life (a plain upstream client) may be closed the same way', async () => {
    const { h, rec } = hop();
    const conn = Connection.fromPartial({ id: 'n1', path: { index: 0, pathSegments: [{ name: 'client', id: 'c1' }] } });
    const held = await h.request(req(conn), ctxOf({}));
    await h.close(held, ctxOf({}));
    assert.equal(rec.closes.length, 1);
  });

  it('insecure: a restarted hop in the middle (new key) is vouched for by the client segment still signed with the old key', async () => {
    const client = await newTokenSigner();
    const { h, rec } = hop();
    const first = await path(client, await newTokenSigner());
    await h.request(req(first.conn), ctxOf({ token: first.token }));
    const restarted = await path(client, await newTokenSigner());
    await h.request(req(restarted.conn), ctxOf({ token: restarted.token }));
    await h.close(restarted.conn, ctxOf({ token: restarted.token }));
    assert.equal(rec.closes.length, 1);
  });

  it('secure: only the SPIFFE ID that established the connection may refresh or Close it', async () => {
    const s = await newTokenSigner();
    const { h, rec } = hop();
    const { conn, token } = await path(s, s);
    const owner = { spiffeId: 'spiffe://td/nsmgr/n1' };
    await h.request(req(conn), ctxOf({ token, peer: owner }));
    await assert.rejects(h.close(Connection.fromPartial(conn), ctxOf({ token, peer: { spiffeId: 'spiffe://td/nsc/evil' } })), denied(/belongs to spiffe:\/\/td\/nsmgr\/n1/));
    await assert.rejects(h.request(req(conn), ctxOf({ token, peer: { spiffeId: 'spiffe://td/nsc/evil' } })), denied(/connection-owner/));
    await h.close(Connection.fromPartial(conn), ctxOf({ token, peer: owner }));
    assert.equal(rec.closes.length, 1);
  });

  it('a Close for a connection this hop does not hold passes (clean-up after a restart)', async () => {
    const { h, rec } = hop();
    await h.close(Connection.fromPartial({ id: 'x', path: { index: 0, pathSegments: [{ name: 'client', id: 'x' }, { name: 'forwarder', id: 'y' }] } }), ctxOf({}));
    assert.equal(rec.closes.length, 1);
  });
});
