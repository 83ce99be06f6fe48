// The demo with `security: { mtls: true }` and 12 s SVIDs (the schema's floor is 10 s): connections UP, pings go on
// without a loss while the supervisor rotates every SVID, status names each component's SPIFFE ID, key files
// are 0600, and at the first hop (nsmgr-node-1) a client without a certificate, with one from another CA,
// or with a token signed by a self-made key is refused.
//
// Why 22 s stand for the acceptance's "SVIDs rotate during a 2-minute test": what can lose a ping is each
// rotation (a component taking up new files while connections stay open) and each turnover of tokens,
// which never outlive the certificate that signed them. A 2-minute test with lifetimes of a minute would see
// two rotations per component; here every component takes up at least three new SVIDs (rotation every 6 s,
// counted in each component's log) and every token is re-signed at least once (12 s certificates), so
// the same events happen more often, in a fifth of the wall time.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { ChannelCredentials, ClientError, createChannel, createClient, Metadata, Status } from 'nice-grpc';
import { grpcAddress, NetworkServiceDefinition, NetworkServiceRequest } from '../../../src/api/index.js';
import { closeAllChannels } from '../../../src/api/transport.js';
import { newTokenSigner } from '../../../src/sdk/core/token.js';
import { createCa, installIdentity, IdentityProvider, issueSvid, loadCa, spiffeId } from '../../../src/security/index.js';
import { mtlsTransport } from '../../../src/security/mtls.js';
import { ensureBuilt, ROOT } from '../helpers/mesh.js';
import { netnsWith, nsm } from '../helpers/cluster.js';

const execFileP = promisify(execFile);
const uid = process.getuid?.() ?? 1;

interface Status_ {
  runDir: string;
  components: { name: string; kind: string; url: string; spiffeId?: string; state: string }[];
  workloads: { name: string; netns: string }[];
  connections: { client: string; dstIp: string; state: string }[];
}

const request = (token: string) =>
  NetworkServiceRequest.fromPartial({ connection: { id: `attack-${Date.now()}`, networkService: 'local-ping', path: { index: 0, pathSegments: [{ name: 'nsc-1', id: 'x', token }] } } });

const PING_COUNT = 5 * Number(process.env.NSM_ROTATION_SECONDS ?? 22);

test('mTLS mesh: demo up, pings survive SVID rotation, attackers refused at the first hop', { skip: uid !== 0 && 'needs root', timeout: 400_000 }, async (t) => {
  ensureBuilt();
  // The components' logs (files in the run dir) must say when they take up a new SVID, whatever the suite's level.
  process.env.NSM_LOG_LEVEL = 'info';
  const name = `t${process.pid}m`;
  const dir = mkdtempSync(join(tmpdir(), 'nsm-mtls-e2e-'));
  const file = join(dir, 'demo-mtls.yaml');
  writeFileSync(file, readFileSync(join(ROOT, 'examples/demo.yaml'), 'utf8').replace(/^name: demo$/m, 'name: demo\nsecurity: { mtls: true, svid_lifetime: 12 }'));
  t.after(() => {
    installIdentity(undefined);
    closeAllChannels();
    nsm('down', name);
    for (const ns of netnsWith(`${name}-`)) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });
  const up = nsm('up', file, '--detach', '--name', name);
  assert.equal(up.code, 0, `nsm up failed:\n${up.stdout}\n${up.stderr}`);
  const status = JSON.parse(nsm('status', name, '--json').stdout) as Status_;
  for (const c of status.components) {
    assert.equal(c.state, 'running', c.name);
    const kind = { endpoint: 'nse', client: 'nsc' }[c.kind] ?? c.kind;
    assert.equal(c.spiffeId, `spiffe://${name}.nsm/${kind}/${c.name}`);
  }
  const sec = join(status.runDir, 'security');
  for (const f of ['ca-key.pem', 'nsmgr-node-1-key.pem', 'nsc-1-key.pem']) assert.equal(statSync(join(sec, f)).mode & 0o777, 0o600, f);
  assert.equal(status.connections.length, 2);

  // Pings for 22 s, five a second, without a loss (rotation every 6 s: at least three in any 19 s).
  // NSM_ROTATION_SECONDS=120 runs the acceptance's literal 2-minute version (by hand; the suite keeps 22 s).
  const serialBefore = new X509Certificate(readFileSync(join(sec, 'nsmgr-node-1.pem'))).serialNumber;
  const reloads = () => new Map(status.components.map((c) => [c.name, (readFileSync(join(status.runDir, 'logs', `${c.name}.log`), 'utf8').match(/"msg":"SVID reloaded"/g) ?? []).length]));
  const reloadsBefore = reloads();
  const pings = status.connections.map((c) => {
    const ns = status.workloads.find((w) => w.name === c.client)!.netns;
    return execFileP('ip', ['netns', 'exec', ns, 'ping', '-c', String(PING_COUNT), '-i', '0.2', '-W', '2', c.dstIp.split('/')[0]!]).then((r) => r.stdout);
  });

  // Meanwhile, the attacks at nsmgr-node-1's socket.
  const nsmgr = status.components.find((c) => c.name === 'nsmgr-node-1')!;
  const address = grpcAddress(nsmgr.url);
  const opts = { 'grpc.ssl_target_name_override': 'nsm.spiffe' };
  const meshCa = await loadCa({ trustDomain: `${name}.nsm`, certPem: readFileSync(join(sec, 'ca.pem'), 'utf8'), keyPem: readFileSync(join(sec, 'ca-key.pem'), 'utf8') });

  // 1. No certificate at all (plain text).
  const plain = createClient(NetworkServiceDefinition, createChannel(address, ChannelCredentials.createInsecure()));
  await assert.rejects(plain.request(request(''), { signal: AbortSignal.timeout(5000) }), (e) => (e instanceof ClientError && e.code === Status.UNAVAILABLE) || (e as Error).name === 'AbortError');

  // 2. A certificate from another CA (same trust domain name).
  const foreignCa = await loadCa(await createCa(`${name}.nsm`));
  const foreign = await issueSvid(foreignCa, spiffeId(`${name}.nsm`, 'nsc', 'nsc-1'), 60_000);
  const foreignClient = createClient(NetworkServiceDefinition, createChannel(address, ChannelCredentials.createSsl(Buffer.from(meshCa.certPem), Buffer.from(foreign.keyPem), Buffer.from(foreign.certPem), { checkServerIdentity: () => undefined }), opts));
  await assert.rejects(foreignClient.request(request(''), { signal: AbortSignal.timeout(5000) }), (e) => e instanceof ClientError && e.code === Status.UNAVAILABLE);

  // 3. A valid mesh certificate, but the token is signed by a self-made key (claiming to be nsc-1).
  const forged = (await (await newTokenSigner()).sign(spiffeId(`${name}.nsm`, 'nsc', 'nsc-1'))).token;
  const svid = await issueSvid(meshCa, spiffeId(`${name}.nsm`, 'nsc', 'nsc-1'), 60_000);
  const identity = new IdentityProvider({ certPem: svid.certPem, keyPem: svid.keyPem, bundlePem: meshCa.certPem });
  const tlsClient = createClient(NetworkServiceDefinition, createChannel(address, mtlsTransport(identity).channelCredentials(), opts));
  const md = new Metadata({ 'nsm-client-token': forged });
  await assert.rejects(tlsClient.request(request(forged), { metadata: md, signal: AbortSignal.timeout(10_000) }), (e) => e instanceof ClientError && e.code === Status.PERMISSION_DENIED && /tokens_valid/.test(e.details));
  // ... and no token at all over a valid mTLS connection.
  await assert.rejects(tlsClient.request(request(''), { signal: AbortSignal.timeout(10_000) }), (e) => e instanceof ClientError && e.code === Status.PERMISSION_DENIED && /missing nsm-client-token/.test(e.details));

  for (const out of await Promise.all(pings)) assert.match(out, / 0% packet loss/, out);
  const serialAfter = new X509Certificate(readFileSync(join(sec, 'nsmgr-node-1.pem'))).serialNumber;
  assert.notEqual(serialAfter, serialBefore, 'SVIDs were rotated during the pings');
  const reloadsAfter = reloads();
  for (const [c, n] of reloadsAfter) assert.ok(n - reloadsBefore.get(c)! >= 3, `${c} took up ${n - reloadsBefore.get(c)!} new SVIDs during the pings (want >= 3)`);
  const after = JSON.parse(nsm('status', name, '--json').stdout) as Status_;
  for (const c of after.connections) assert.equal(c.state, 'UP');
});
