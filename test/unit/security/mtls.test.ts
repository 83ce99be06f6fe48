import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { experimental } from '@grpc/grpc-js';
import { ChannelCredentials, ClientError, createChannel, createClient, Status } from 'nice-grpc';
import { channelTo, grpcAddress, listenOn, newGrpcServer, NetworkServiceDefinition, NetworkServiceRequest, Connection } from '../../../src/api/index.js';
import { closeAllChannels } from '../../../src/api/transport.js';
import { networkServiceImplementation } from '../../../src/sdk/core/serve-networkservice.js';
import { silentLogger } from '../../../src/sdk/core/log.js';
import type { NetworkServiceHandler } from '../../../src/sdk/core/chain.js';
import { createCa, IdentityProvider, installIdentity, issueSvid, loadCa, spiffeId, type LoadedCa, type SvidUsage } from '../../../src/security/index.js';

/** Echoes the caller's SPIFFE ID (from ctx.incoming.peer) in the connection's labels. */
const echo: NetworkServiceHandler = {
  async request(req, ctx) {
    const p = ctx.incoming.peer;
    return Connection.fromPartial({ ...req.connection, labels: { peer: p?.spiffeId ?? '', pid: String(p?.pid ?? ''), uid: String(p?.uid ?? '') } });
  },
  async close() {},
};

async function material(ca: LoadedCa, id: string, lifetimeMs = 60_000, usage: SvidUsage = 'mtls') {
  const s = await issueSvid(ca, id, lifetimeMs, usage);
  return { certPem: s.certPem, keyPem: s.keyPem, bundlePem: ca.certPem };
}

function credsFor(m: { certPem: string; keyPem: string; bundlePem: string }, serverCa?: string) {
  const p = new IdentityProvider(serverCa ? { ...m } : m);
  if (serverCa) {
    // Trusts the server's CA for the handshake but presents its own (foreign) certificate.
    return ChannelCredentials.createSsl(Buffer.from(serverCa), Buffer.from(m.keyPem), Buffer.from(m.certPem), { checkServerIdentity: () => undefined });
  }
  return experimental.createCertificateProviderChannelCredentials(p, p, { checkServerIdentity: () => undefined });
}

const request = (id: string) => NetworkServiceRequest.fromPartial({ connection: { id, networkService: 'x' } });

describe('mTLS transport', () => {
  let dir: string;
  let ca: LoadedCa;
  let identity: IdentityProvider;
  let url: string;
  const server = newGrpcServer();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nsm-mtls-'));
    ca = await loadCa(await createCa('test.mesh'));
    identity = new IdentityProvider(await material(ca, spiffeId('test.mesh', 'nsmgr', 'nsmgr-1')));
    installIdentity(identity);
    server.add(NetworkServiceDefinition, networkServiceImplementation(echo, silentLogger));
    url = await listenOn(server, `unix://${dir}/s.sock`);
  });

  after(async () => {
    closeAllChannels();
    installIdentity(undefined);
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves an mTLS client over a unix socket and hands the chain its SPIFFE ID', async () => {
    const c = createClient(NetworkServiceDefinition, channelTo(url));
    const conn = await c.request(request('a'));
    assert.equal(conn.labels['peer'], 'spiffe://test.mesh/nsmgr/nsmgr-1');
    // SO_PEERCRED of the unix socket: the caller is this very process.
    assert.equal(conn.labels['pid'], String(process.pid));
    assert.equal(conn.labels['uid'], String(process.getuid?.()));
  });

  it('ignores a peer id the caller writes into its metadata', async () => {
    const other = createClient(NetworkServiceDefinition, createChannel(grpcAddress(url), credsFor(await material(ca, spiffeId('test.mesh', 'nsc', 'c1'))), { 'grpc.ssl_target_name_override': 'nsm.spiffe' }));
    const conn = await other.request(request('b'), { metadata: new (await import('nice-grpc')).Metadata({ 'nsm-peer-spiffe-id': 'spiffe://test.mesh/nsmgr/boss', 'nsm-peer-pid': '1', 'nsm-peer-uid': '0' }) });
    assert.equal(conn.labels['peer'], 'spiffe://test.mesh/nsc/c1');
    assert.equal(conn.labels['pid'], String(process.pid));
  });

  it('refuses a plain-text client', async () => {
    const c = createClient(NetworkServiceDefinition, createChannel(grpcAddress(url), ChannelCredentials.createInsecure()));
    await assert.rejects(c.request(request('c'), { signal: AbortSignal.timeout(3000) }), (e) => e instanceof ClientError || (e as Error).name === 'AbortError');
  });

  it('refuses a client whose certificate comes from another CA', async () => {
    const foreign = await loadCa(await createCa('test.mesh'));
    const m = await material(foreign, spiffeId('test.mesh', 'nsc', 'evil'));
    const c = createClient(NetworkServiceDefinition, createChannel(grpcAddress(url), credsFor(m, ca.certPem), { 'grpc.ssl_target_name_override': 'nsm.spiffe' }));
    await assert.rejects(c.request(request('d'), { signal: AbortSignal.timeout(3000) }), (e) => e instanceof ClientError && e.code === Status.UNAVAILABLE);
  });

  it('refuses a client presenting a server-only certificate (wrong EKU)', async () => {
    const m = await material(ca, spiffeId('test.mesh', 'nsc', 'server-only'), 60_000, 'server');
    const c = createClient(NetworkServiceDefinition, createChannel(grpcAddress(url), credsFor(m, ca.certPem), { 'grpc.ssl_target_name_override': 'nsm.spiffe' }));
    await assert.rejects(c.request(request('e'), { signal: AbortSignal.timeout(3000) }), (e) => e instanceof ClientError && e.code === Status.UNAVAILABLE);
  });

  it('a client refuses a server from another trust domain', async () => {
    const otherCa = await loadCa(await createCa('other.mesh'));
    const otherId = new IdentityProvider(await material(otherCa, spiffeId('other.mesh', 'nsmgr', 'x')));
    // A client of test.mesh that also trusts other.mesh's CA still refuses a server whose SPIFFE ID is in other.mesh.
    const mine = await material(ca, spiffeId('test.mesh', 'nsc', 'c2'));
    const both = new IdentityProvider({ ...mine, bundlePem: ca.certPem });
    const s2 = newGrpcServer();
    installIdentity(otherId);
    s2.add(NetworkServiceDefinition, networkServiceImplementation(echo, silentLogger));
    const url2 = await listenOn(s2, `unix://${dir}/other.sock`);
    installIdentity(identity);
    try {
      const creds = experimental.createCertificateProviderChannelCredentials(
        { ...both, addCaCertificateListener: (l) => l({ caCertificate: Buffer.from(ca.certPem + otherCa.certPem) }), removeCaCertificateListener: () => {}, addIdentityCertificateListener: (l) => both.addIdentityCertificateListener(l), removeIdentityCertificateListener: () => {} },
        both,
        { checkServerIdentity: (_h, cert) => (cert.subjectaltname?.includes('spiffe://test.mesh/') ? undefined : new Error('wrong trust domain')) },
      );
      const c = createClient(NetworkServiceDefinition, createChannel(grpcAddress(url2), creds, { 'grpc.ssl_target_name_override': 'nsm.spiffe' }));
      await assert.rejects(c.request(request('f'), { signal: AbortSignal.timeout(3000) }));
    } finally {
      s2.forceShutdown();
    }
  });

  it('a rotated SVID is used for new handshakes while the open connection keeps working', async () => {
    const c = createClient(NetworkServiceDefinition, channelTo(url));
    await c.request(request('g'));
    const before = identity.current.chain[0]!.serialNumber;
    identity.update(await material(ca, spiffeId('test.mesh', 'nsmgr', 'nsmgr-1')));
    assert.notEqual(identity.current.chain[0]!.serialNumber, before);
    assert.equal((await c.request(request('h'))).labels['peer'], 'spiffe://test.mesh/nsmgr/nsmgr-1');
    const fresh = createClient(NetworkServiceDefinition, createChannel(grpcAddress(url), credsFor(identity.current.material), { 'grpc.ssl_target_name_override': 'nsm.spiffe' }));
    assert.equal((await fresh.request(request('i'))).labels['peer'], 'spiffe://test.mesh/nsmgr/nsmgr-1');
  });
});

describe('unix peer credentials without TLS', () => {
  it('hands the chain the caller\'s pid and uid from SO_PEERCRED, never the caller\'s own claim', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsm-peercred-'));
    const server = newGrpcServer();
    server.add(NetworkServiceDefinition, networkServiceImplementation(echo, silentLogger));
    const url = await listenOn(server, `unix://${dir}/s.sock`);
    try {
      const c = createClient(NetworkServiceDefinition, createChannel(grpcAddress(url), ChannelCredentials.createInsecure()));
      const conn = await c.request(request('p'), { metadata: new (await import('nice-grpc')).Metadata({ 'nsm-peer-pid': '1' }) });
      assert.equal(conn.labels['pid'], String(process.pid));
      assert.equal(conn.labels['uid'], String(process.getuid?.()));
    } finally {
      server.forceShutdown();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
