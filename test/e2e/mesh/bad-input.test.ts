// E2E bad input against real `nsm` processes: readable one-line CLI errors with the right exit
// codes, gRPC status codes for malformed or tampered requests, and no leaked interfaces.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, test } from 'node:test';
import { ClientError, createChannel, createClient, Metadata, Status } from 'nice-grpc';
import { grpcAddress, NetworkServiceDefinition, NetworkServiceRequest } from '../../../src/api/index.js';
import { newTokenSigner } from '../../../src/sdk/core/token.js';
import { createTestNetns, sweepStaleTestNetns, TEST_PREFIX } from '../helpers/netns.js';
import { freePort, links, Mesh, type MeshProcess } from '../helpers/mesh.js';

before(async () => {
  await sweepStaleTestNetns();
});

async function failed(p: MeshProcess): Promise<{ code: number | null; lines: string[] }> {
  const { code } = await p.exited;
  return { code, lines: p.stderr.split('\n').filter(Boolean) };
}

function rejectsWith(promise: Promise<unknown>, code: Status, re: RegExp): Promise<void> {
  return assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ClientError, String(err));
    assert.equal(Status[err.code], Status[code], err.details);
    assert.match(err.details, re);
    return true;
  });
}

test('bad input: clear errors, no leaked interfaces', async (t) => {
  const mesh = new Mesh(t);
  const [node, nse, c1] = await createTestNetns(t, 'node', 'nse', 'c1');
  const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
  const nsmgrUrl = mesh.sock('nsmgr');
  const fwdUrl = mesh.sock('forwarder');
  await mesh.registry({ listen: registryUrl, netns: node });
  await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: registryUrl, netns: node });
  await mesh.forwarder({ name: 'forwarder-1', listen: fwdUrl, nsmgr: nsmgrUrl, underlayIp: '198.18.0.1', netns: node });
  await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.5.0/24', netns: node });
  const quiet = { env: { NSM_LOG_LEVEL: 'silent' } };
  const nscArgs = { nsmgr: nsmgrUrl, workloadNetns: c1, ...quiet };

  await t.test('unknown network service: nsc exits non-zero with one line naming it', async () => {
    const p = mesh.spawnNsc({ name: 'nsc-unknown', urls: ['kernel://no-such-service/nsm-1'], extra: ['--request-timeout', '5s'], ...nscArgs });
    const { code, lines } = await failed(p);
    assert.notEqual(code, 0);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /^nsm: .*no-such-service/);
    t.diagnostic(lines[0]!);
  });

  await t.test('nsc --netns that does not exist: exit 2, one line', async () => {
    const p = mesh.spawnNsc({ name: 'nsc-nons', urls: ['kernel://icmp-responder/nsm-1'], ...nscArgs, workloadNetns: `${TEST_PREFIX}nope` });
    const { code, lines } = await failed(p);
    assert.equal(code, 2);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /^nsm: .*nope.*does not exist/);
  });

  await t.test('interface name over 15 characters: exit 2, one line', async () => {
    const p = mesh.spawnNsc({ name: 'nsc-longif', urls: ['kernel://icmp-responder/nsm-0123456789abc'], ...nscArgs });
    const { code, lines } = await failed(p);
    assert.equal(code, 2);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /^nsm: .*nsm-0123456789abc.*15/);
  });

  const fwdChannel = createChannel(grpcAddress(fwdUrl));
  const nsmgrChannel = createChannel(grpcAddress(nsmgrUrl));
  t.after(() => (fwdChannel.close(), nsmgrChannel.close()));
  const fwd = createClient(NetworkServiceDefinition, fwdChannel);
  const nsmgr = createClient(NetworkServiceDefinition, nsmgrChannel);
  const inode = `file:///var/run/netns/${c1}`;

  await t.test('bad mechanism sent straight to the forwarder: INVALID_ARGUMENT', async () => {
    const req = (mech: { cls: string; type: string; parameters: Record<string, string> }) =>
      NetworkServiceRequest.fromPartial({
        connection: { id: randomUUID(), networkService: 'icmp-responder', networkServiceEndpointName: 'nse-1' },
        mechanismPreferences: [mech],
      });
    await rejectsWith(fwd.request(req({ cls: 'LOCAL', type: 'MEMIF', parameters: { name: 'nsm-1' } })), Status.INVALID_ARGUMENT, /MEMIF/);
    await rejectsWith(fwd.request(req({ cls: 'LOCAL', type: 'KERNEL', parameters: { name: 'nsm-1' } })), Status.INVALID_ARGUMENT, /inodeURL/);
  });

  await t.test('client namespace that does not exist, via the nsmgr: an error and nothing half-created', async () => {
    const req = NetworkServiceRequest.fromPartial({
      connection: { id: randomUUID(), networkService: 'icmp-responder' },
      mechanismPreferences: [{ cls: 'LOCAL', type: 'KERNEL', parameters: { name: 'nsm-1', inodeURL: `file:///var/run/netns/${TEST_PREFIX}nope` } }],
    });
    await assert.rejects(nsmgr.request(req), (err: unknown) => {
      assert.ok(err instanceof ClientError);
      assert.ok([Status.INVALID_ARGUMENT, Status.FAILED_PRECONDITION, Status.NOT_FOUND].includes(err.code), `${Status[err.code]}: ${err.details}`);
      return true;
    });
  });

  await t.test('token-tampered path to the nsmgr: PERMISSION_DENIED', async () => {
    const signer = await newTokenSigner(60_000);
    const { token, expires } = await signer.sign('evil-client', 'nsmgr-1');
    const tampered = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const req = NetworkServiceRequest.fromPartial({
      connection: {
        id: randomUUID(),
        networkService: 'icmp-responder',
        path: { index: 0, pathSegments: [{ name: 'evil-client', id: randomUUID(), token: tampered, expires }] },
      },
      mechanismPreferences: [{ cls: 'LOCAL', type: 'KERNEL', parameters: { name: 'nsm-1', inodeURL: inode } }],
    });
    const metadata = Metadata({ 'nsm-client-token': token, 'nsm-client-token-expires': expires.toISOString() });
    await rejectsWith(nsmgr.request(req, { metadata }), Status.PERMISSION_DENIED, /tamper|token/);
    // A token issued to someone else than the path's segment is refused too.
    const other = await signer.sign('someone-else', 'nsmgr-1');
    const md2 = Metadata({ 'nsm-client-token': other.token, 'nsm-client-token-expires': other.expires.toISOString() });
    const req2 = NetworkServiceRequest.fromPartial({ ...req, connection: { ...req.connection, id: randomUUID(), path: { index: 0, pathSegments: [{ name: 'evil-client', id: randomUUID() }] } } });
    await rejectsWith(nsmgr.request(req2, { metadata: md2 }), Status.PERMISSION_DENIED, /someone-else/);
  });

  await t.test('no leaked interfaces anywhere', () => {
    assert.deepEqual(links(c1), []);
    assert.deepEqual(links(nse), []);
    assert.deepEqual(links(node), []);
  });
});
