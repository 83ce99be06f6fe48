// The plugin against the daemon over a real unix socket, with a fake mesh: ADD/CHECK/DEL results and
// idempotence, partial failures rolled back, mesh errors mapped to CNI codes, an absent daemon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '../../../src/api/index.js';
import { requestSpecs } from '../../../src/components/cni-request-specs.js';
import { CniDaemon, type MeshConnector } from '../../../src/platforms/cni/daemon.js';
import { CniCode } from '../../../src/platforms/cni/errors.js';
import { runPlugin } from '../../../src/platforms/cni/plugin.js';
import { deleteInterfaces, isHostNetns } from '../../../src/platforms/cni/check-netns.js';
import { NotFoundError, UnavailableError } from '../../../src/api/errors.js';
import { silentLogger } from '../../../src/sdk/core/log.js';

/** A stand-in namespace path: it exists, but is no namespace, so nothing can touch a real one. */
const NSDIR = mkdtempSync(join(tmpdir(), 'nsm-cni-unit-ns-'));
const NETNS = join(NSDIR, 'netns');
writeFileSync(NETNS, '');
process.once('exit', () => rmSync(NSDIR, { recursive: true, force: true }));

function fakeMesh(fail?: (service: string) => Error | undefined) {
  const open = new Map<string, string>();
  let n = 0;
  const connector: MeshConnector = {
    async request(_nsmgr, spec) {
      const err = fail?.(spec.service);
      if (err) throw err;
      const id = `conn-${++n}`;
      open.set(id, spec.service);
      return Connection.fromPartial({ id, networkService: spec.service, context: { ipContext: { srcIpAddrs: [`169.254.9.${n}/32`], dstIpAddrs: ['169.254.9.0/32'] } } });
    },
    async close(_nsmgr, conn) {
      open.delete(conn.id);
    },
    parseRequests: requestSpecs,
  };
  return { connector, open };
}

async function withDaemon(t: import('node:test').TestContext, connector: MeshConnector) {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-cni-unit-'));
  const socket = join(dir, 'd.sock');
  const d = new CniDaemon({ socket, connector, log: silentLogger });
  await d.listen();
  t.after(async () => {
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { socket, daemon: d };
}

const env = (command: string, extra: Record<string, string> = {}) => ({ CNI_COMMAND: command, CNI_CONTAINERID: 'ctr1', CNI_NETNS: NETNS, CNI_IFNAME: 'eth0', CNI_PATH: '/x', ...extra });
const config = (socket: string, requests = ['kernel://svc-a/nsm-a', 'kernel://svc-b']) =>
  JSON.stringify({ cniVersion: '1.0.0', name: 'meshnet', type: 'nsm-cni', nsmgr: 'unix:///x.sock', requests, daemonSocket: socket });

test('VERSION lists the supported versions', async () => {
  const out = await runPlugin({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}');
  assert.equal(out.code, 0);
  assert.deepEqual(JSON.parse(out.stdout), { cniVersion: '0.4.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] });
});

test('ADD returns both interfaces; the daemon holds them; DEL closes them; DEL again and DEL of a stranger succeed', async (t) => {
  const mesh = fakeMesh();
  const { socket, daemon } = await withDaemon(t, mesh.connector);
  const add = await runPlugin(env('ADD'), config(socket));
  assert.equal(add.code, 0, add.stdout);
  const r = JSON.parse(add.stdout);
  assert.deepEqual(r.interfaces.map(({ name, sandbox }: { name: string; sandbox: string }) => ({ name, sandbox })), [{ name: 'nsm-a', sandbox: NETNS }, { name: 'eth0', sandbox: NETNS }]);
  assert.deepEqual(r.ips.map((i: { address: string }) => i.address), ['169.254.9.1/32', '169.254.9.2/32']);
  assert.equal(mesh.open.size, 2);
  assert.equal(daemon.size, 1);
  assert.equal((await runPlugin(env('DEL'), config(socket))).code, 0);
  assert.equal(mesh.open.size, 0);
  assert.equal((await runPlugin(env('DEL'), config(socket))).code, 0);
  assert.equal((await runPlugin(env('DEL', { CNI_CONTAINERID: 'never-added', CNI_NETNS: '' }), config(socket))).code, 0);
});

test('CHECK of an attachment the daemon does not hold is an error with a readable message', async (t) => {
  const { socket } = await withDaemon(t, fakeMesh().connector);
  const out = await runPlugin(env('CHECK'), config(socket));
  assert.equal(out.code, 1);
  const e = JSON.parse(out.stdout);
  assert.equal(e.code, CniCode.UnknownAttachment);
  assert.match(e.msg, /no attachment meshnet\/ctr1\/eth0/);
});

test('a failing second request closes the first (nothing leaked); unknown service is 11, mesh down is 11', async (t) => {
  const mesh = fakeMesh((s) => (s === 'svc-b' ? new NotFoundError('no endpoint is registered for network service "svc-b"') : undefined));
  const { socket, daemon } = await withDaemon(t, mesh.connector);
  const out = await runPlugin(env('ADD'), config(socket));
  assert.equal(out.code, 1);
  const e = JSON.parse(out.stdout);
  assert.equal(e.code, CniCode.TryAgainLater);
  assert.match(e.msg, /svc-b/);
  assert.equal(mesh.open.size, 0);
  assert.equal(daemon.size, 0);
  const down = fakeMesh(() => new UnavailableError('connect ECONNREFUSED'));
  const d2 = await withDaemon(t, down.connector);
  assert.equal(JSON.parse((await runPlugin(env('ADD'), config(d2.socket))).stdout).code, CniCode.TryAgainLater);
});

test('bad input never reaches the daemon: missing requests is 7, a vanished namespace is 3', async (t) => {
  const { socket } = await withDaemon(t, fakeMesh().connector);
  const noReq = await runPlugin(env('ADD'), config(socket, []));
  assert.equal(JSON.parse(noReq.stdout).code, CniCode.InvalidConfig);
  const gone = await runPlugin(env('ADD', { CNI_NETNS: '/var/run/netns/nsm-cni-unit-gone' }), config(socket));
  assert.equal(JSON.parse(gone.stdout).code, CniCode.UnknownContainer);
});

test('no daemon: ADD is "try again later" naming the socket; DEL still succeeds', async () => {
  const socket = join(tmpdir(), `nsm-cni-absent-${process.pid}.sock`);
  const add = await runPlugin(env('ADD'), config(socket));
  const e = JSON.parse(add.stdout);
  assert.equal(e.code, CniCode.TryAgainLater);
  assert.match(e.msg, /nsm cni-daemon is not answering/);
  assert.equal((await runPlugin(env('DEL'), config(socket))).code, 0);
});

test('an attachment whose namespace vanished without DEL is closed by the sweep', async (t) => {
  const mesh = fakeMesh();
  const { socket, daemon } = await withDaemon(t, mesh.connector);
  const dir = mkdtempSync(join(tmpdir(), 'nsm-cni-sweep-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A stand-in namespace file: only its existence matters to the sweep.
  const fakeNs = join(dir, 'ns');
  writeFileSync(fakeNs, '');
  assert.equal((await runPlugin(env('ADD', { CNI_NETNS: fakeNs }), config(socket))).code, 0);
  assert.equal(mesh.open.size, 2);
  assert.deepEqual(await daemon.sweep(), []);
  rmSync(fakeNs);
  assert.deepEqual(await daemon.sweep(), ['meshnet/ctr1/eth0']);
  assert.equal(mesh.open.size, 0);
  assert.equal(daemon.size, 0);
});

test('interfaces are never deleted in the host namespace, whatever CNI_NETNS says', async () => {
  assert.equal(isHostNetns('/proc/self/ns/net'), true);
  assert.equal(isHostNetns(NETNS), false);
  assert.deepEqual(await deleteInterfaces('/proc/self/ns/net', ['nsm-cni-unit-x']), []);
});

test('ADD again for the same attachment (a runtime retrying) replaces it: the first connections are closed', async (t) => {
  const mesh = fakeMesh();
  const { socket, daemon } = await withDaemon(t, mesh.connector);
  assert.equal((await runPlugin(env('ADD'), config(socket))).code, 0);
  assert.equal((await runPlugin(env('ADD'), config(socket))).code, 0);
  assert.deepEqual([...mesh.open.keys()], ['conn-3', 'conn-4']);
  assert.equal(daemon.size, 1);
});
