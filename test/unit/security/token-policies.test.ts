import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Connection, NetworkServiceRequest, PathSegment } from '../../../src/api/index.js';
import { Status } from '../../../src/api/errors.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { newTokenSigner, setTokenTrust, verifyToken, type TokenTrust } from '../../../src/sdk/core/token.js';
import { authorize } from '../../../src/sdk/networkservice/authorize.js';
import { updatePath } from '../../../src/sdk/networkservice/updatepath.js';
import { updateToken } from '../../../src/sdk/networkservice/updatetoken.js';
import { createCa, IdentityProvider, issueSvid, loadCa, spiffeId, svidTokenTrust, type LoadedCa } from '../../../src/security/index.js';
import { hasCode, recorder, tamper } from '../networkservice/helpers.js';

const TD = 'test.mesh';

async function trustFor(ca: LoadedCa, kind: 'nsc' | 'nsmgr' | 'forwarder', name: string, lifetimeMs = 60_000): Promise<TokenTrust> {
  const s = await issueSvid(ca, spiffeId(TD, kind, name), lifetimeMs);
  return svidTokenTrust(new IdentityProvider({ certPem: s.certPem, keyPem: s.keyPem, bundlePem: ca.certPem }));
}

const fromClient = (token = '', extra: { name: string; token: string }[] = []) =>
  Connection.fromPartial({ id: 'c1', path: { index: 0, pathSegments: [{ name: 'client', id: 'c1', token }, ...extra.map((e) => ({ ...e, id: 'x' }))] } });

const now = () => Math.floor(Date.now() / 1000);

describe('token policies (security on)', () => {
  let ca: LoadedCa;
  let client: TokenTrust;
  let nsmgr: TokenTrust;

  before(async () => {
    ca = await loadCa(await createCa(TD));
    client = await trustFor(ca, 'nsc', 'client');
    nsmgr = await trustFor(ca, 'nsmgr', 'nsmgr');
    setTokenTrust(nsmgr);
  });
  after(() => setTokenTrust(undefined));

  async function server(onRequest?: (conn: Connection) => void) {
    const rec = recorder(onRequest ? { onRequest: (req) => onRequest(req.connection!) } : {});
    return { rec, handler: chain(updatePath('nsmgr', { server: true }), authorize(), updateToken(await newTokenSigner()), rec) };
  }
  const send = (h: Awaited<ReturnType<typeof server>>['handler'], conn: Connection, token?: string, peerId?: string) =>
    h.request(NetworkServiceRequest.fromPartial({ connection: conn }), newCtx({ incoming: { ...(token ? { token } : {}), ...(peerId ? { peer: { spiffeId: peerId } } : {}) } }));
  const clientToken = (claims: Partial<{ sub: string; aud: string; exp: number }> = {}) => client.sign({ sub: client.selfId, aud: 'nsmgr', iat: now(), exp: now() + 60, ...claims });

  it('signs with the SVID key: sub is our SPIFFE ID, x5c names the certificate, the token verifies against the bundle', async () => {
    const signer = await newTokenSigner(30_000);
    const t = await signer.sign('nsmgr', 'next');
    const header = JSON.parse(Buffer.from(t.token.split('.')[0]!, 'base64url').toString()) as { alg: string; x5c: string[]; jwk?: unknown };
    assert.equal(header.alg, 'ES256');
    assert.equal(header.x5c.length, 1);
    assert.equal(header.jwk, undefined);
    assert.equal((await verifyToken(t.token)).subject, `spiffe://${TD}/nsmgr/nsmgr`);
  });

  it('a token from the caller, signed by its SVID, over the caller\'s own mTLS connection, is accepted', async () => {
    const token = await clientToken();
    const { rec, handler } = await server();
    await send(handler, fromClient(token), token, client.selfId);
    assert.equal(rec.requests.length, 1);
    assert.equal(rec.requests[0]!.conn.path!.pathSegments[0]!.token, token);
  });

  it('tokens_valid: no token at all', async () => {
    const { rec, handler } = await server();
    await assert.rejects(send(handler, fromClient()), hasCode(Status.PERMISSION_DENIED, /policy tokens_valid .*missing nsm-client-token/));
    assert.equal(rec.requests.length, 0);
  });

  it('tokens_valid: a token signed by a freshly made key (carried in its own header) proves nothing', async () => {
    setTokenTrust(undefined);
    const forged = (await (await newTokenSigner()).sign(client.selfId, 'nsmgr')).token;
    setTokenTrust(nsmgr);
    const { rec, handler } = await server();
    await assert.rejects(send(handler, fromClient(forged), forged, client.selfId), hasCode(Status.PERMISSION_DENIED, /policy tokens_valid .*x5c/));
    assert.equal(rec.requests.length, 0);
  });

  it('tokens_valid: a token whose certificate comes from another CA', async () => {
    const other = await trustFor(await loadCa(await createCa(TD)), 'nsc', 'client');
    const token = await other.sign({ sub: other.selfId, iat: now(), exp: now() + 60 });
    const { handler } = await server();
    await assert.rejects(send(handler, fromClient(token), token), hasCode(Status.PERMISSION_DENIED, /policy tokens_valid .*not signed by the trust bundle/));
  });

  it('tokens_valid: a re-signed or tampered token', async () => {
    const token = tamper(await clientToken(), { sub: 'spiffe://test.mesh/nsc/victim' });
    const { handler } = await server();
    await assert.rejects(send(handler, fromClient(token), token), hasCode(Status.PERMISSION_DENIED, /policy tokens_valid .*signature/));
  });

  it('tokens_valid: a token whose sub is not its signer', async () => {
    const token = await client.sign({ sub: 'spiffe://test.mesh/nsc/victim', iat: now(), exp: now() + 60 });
    const { handler } = await server();
    await assert.rejects(send(handler, fromClient(token), token), hasCode(Status.PERMISSION_DENIED, /policy tokens_valid .*is not its signer/));
  });

  it('tokens_not_expired: an expired token', async () => {
    const token = await clientToken({ exp: now() - 5 });
    const { handler } = await server();
    await assert.rejects(send(handler, fromClient(token), token), hasCode(Status.PERMISSION_DENIED, /policy tokens_not_expired/));
  });

  it('tokens_not_expired: a token never outlives its SVID', async () => {
    const shortLived = await trustFor(ca, 'nsc', 'client', 2_000);
    const token = await shortLived.sign({ sub: shortLived.selfId, iat: now(), exp: now() + 600 });
    const exp = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;
    assert.ok(exp <= now() + 3, `exp ${exp} capped to the SVID's end`);
  });

  it('tokens_chained: a token of another identity than the segment it is on', async () => {
    const mallory = await trustFor(ca, 'nsc', 'mallory');
    const token = await mallory.sign({ sub: mallory.selfId, iat: now(), exp: now() + 60 });
    const { handler } = await server();
    await assert.rejects(send(handler, fromClient(token), token, mallory.selfId), hasCode(Status.PERMISSION_DENIED, /policy tokens_chained .*"client" was issued by spiffe:\/\/test.mesh\/nsc\/mallory/));
  });

  it('tokens_chained: the path carries a token other than the one the caller presents', async () => {
    const token = await clientToken();
    const other = await clientToken({ aud: 'elsewhere' });
    const { handler } = await server();
    await assert.rejects(send(handler, fromClient(other), token), hasCode(Status.PERMISSION_DENIED, /policy tokens_chained/));
  });

  it('previous_token_signed: a valid token replayed over another peer\'s connection', async () => {
    const token = await clientToken();
    const mallory = await trustFor(ca, 'nsc', 'mallory');
    const { handler } = await server();
    await assert.rejects(send(handler, fromClient(token), token, mallory.selfId), hasCode(Status.PERMISSION_DENIED, /policy previous_token_signed/));
  });

  it('current_token_signed: the caller sends back a token for our segment that we did not sign', async () => {
    const token = await clientToken();
    const fake = await clientToken();
    const { handler } = await server();
    await assert.rejects(send(handler, fromClient(token, [{ name: 'nsmgr', token: fake }]), token, client.selfId), hasCode(Status.PERMISSION_DENIED, /policy current_token_signed/));
  });

  it('next_token_signed: an answer whose next segment token is forged is refused and closed again', async () => {
    const token = await clientToken();
    const forger = await trustFor(await loadCa(await createCa(TD)), 'forwarder', 'fwd');
    const forged = await forger.sign({ sub: forger.selfId, iat: now(), exp: now() + 60 });
    const { rec, handler } = await server((conn) => {
      conn.path!.pathSegments.push(PathSegment.fromPartial({ name: 'fwd', id: 'f', token: forged }));
    });
    await assert.rejects(send(handler, fromClient(token), token, client.selfId), hasCode(Status.PERMISSION_DENIED, /policy next_token_signed/));
    assert.equal(rec.closes.length, 1);
  });

  it('remembers a checked signature by token text, and forgets everything when the trust bundle changes', async () => {
    const s = await issueSvid(ca, spiffeId(TD, 'nsmgr', 'cache'), 60_000);
    const id = new IdentityProvider({ certPem: s.certPem, keyPem: s.keyPem, bundlePem: ca.certPem });
    const trust = svidTokenTrust(id);
    const token = await client.sign({ sub: client.selfId, iat: now(), exp: now() + 60 });
    const first = await trust.verifySignature(token);
    assert.equal(await trust.verifySignature(token), first, 'second check answered from the cache');
    // A bundle that no longer holds our CA: the same token is refused, not answered from the cache.
    const other = await loadCa(await createCa('other.mesh'));
    const o = await issueSvid(other, spiffeId('other.mesh', 'nsmgr', 'cache'), 60_000);
    id.update({ certPem: o.certPem, keyPem: o.keyPem, bundlePem: other.certPem });
    await assert.rejects(trust.verifySignature(token), /not signed by the trust bundle/);
  });
});
