// E2E: vhost-user through the mesh. A DPDK client whose NIC is a virtio-user port (dpdk-testpmd flowgen,
// as a VM's virtio NIC would be) joins the vhost-user socket that its forwarder serves (vhost PMD) and
// exchanges packets with a macswap endpoint: on one node the forwarder's testpmd joins vhost to the
// endpoint's memif; across two nodes vhost to af_packet on VXLAN. Counts both ways; Close leaves nothing.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, test, type TestContext } from 'node:test';
import { createTestNetns, sweepStaleTestNetns } from '../helpers/netns.js';
import { links, Mesh, waitFor, type MeshProcess } from '../helpers/mesh.js';
import { oneNode } from '../helpers/one-node.js';
import { twoNodes } from '../helpers/two-nodes.js';
import { dpdkProcesses, hasTestpmd } from './helpers.js';

before(async () => {
  await sweepStaleTestNetns();
});

type Counts = { rx: number; tx: number };
/** This mesh's DPDK processes (other tests may run their own): every one names a path under the mesh's directory. */
const ours = (mesh: Mesh) => dpdkProcesses().filter((p) => p.argv.includes(`${mesh.dir}/`));

/** Starts the macswap endpoint and the virtio-user client (3 s of traffic); resolves the client's connection line. */
async function connect(mesh: Mesh, nsmgrNse: string, nsmgrApp: string, nseNetns: string, appNetns: string) {
  const nseDir = join(mesh.dir, 'run-nse');
  const appDir = join(mesh.dir, 'run-app');
  const nse = mesh.spawn('nse-m', ['nse', 'macswap', '--name', 'nse-m', '--service', 'fast', '--nsmgr', nsmgrNse, '--runtime-dir', nseDir, '--listen', mesh.sock('nse-m')], { netns: nseNetns });
  await nse.waitLine(/^nse .* serving /, 30_000);
  const app = mesh.spawnNsc({ name: 'vm', nsmgr: nsmgrApp, workloadNetns: appNetns, urls: ['vhostuser://fast/v0'], netns: appNetns, extra: ['--runtime-dir', appDir, '--memif-seconds', '3s'] });
  const conn = JSON.parse(await app.waitLine(/^\{"id"/, 60_000)) as { mechanism: string; remoteMechanism?: string; path: string[] };
  return { nse, app, conn, nseDir, appDir };
}

/** The client's counts, then Close: the endpoint's counts; both ways asserted; no DPDK process, socket or directory is left. */
async function trafficAndClose(t: TestContext, mesh: Mesh, nse: MeshProcess, app: MeshProcess, dirs: string[]) {
  const sent = (JSON.parse(await app.waitLine(/"vhostuser"/, 20_000)) as { vhostuser: Counts }).vhostuser;
  t.diagnostic(`virtio-user client: sent ${sent.tx}, received back ${sent.rx}`);
  assert.ok(sent.tx > 1000, `sent ${sent.tx}`);
  assert.ok(sent.rx > 1000 && sent.rx <= sent.tx, `received ${sent.rx} of ${sent.tx}`);
  assert.deepEqual(await app.stop(), { code: 0, signal: null }, mesh.logs());
  const bounced = (JSON.parse(await nse.waitLine(/"memif"/, 10_000)) as { memif: Counts }).memif;
  t.diagnostic(`endpoint: received ${bounced.rx}, sent back ${bounced.tx}`);
  // The endpoint's counters are sampled once a second (see memif-local): both ways counted, bounded by what was sent.
  assert.ok(bounced.rx > 1000 && bounced.rx <= sent.tx, JSON.stringify({ bounced, sent }));
  assert.ok(bounced.tx > 1000 && bounced.tx <= bounced.rx, JSON.stringify({ bounced, sent }));
  await waitFor('no DPDK process of this mesh', () => ours(mesh).length === 0, 5000);
  for (const d of dirs) assert.deepEqual(existsSync(d) ? readdirSync(d) : [], [], `${d} is not empty`);
}

test('VHOSTUSER through the mesh on one node: virtio-user <-> forwarder vhost PMD <-> memif macswap, both ways', { skip: !hasTestpmd() && 'dpdk-testpmd is not installed' }, async (t) => {
  const mesh = new Mesh(t);
  const [node] = await createTestNetns(t, 'node');
  const { nsmgrUrl } = await oneNode(mesh, node);
  const { nse, app, conn, nseDir, appDir } = await connect(mesh, nsmgrUrl, nsmgrUrl, node, node);

  await t.test('the client has VHOSTUSER; the forwarder serves its socket and joins it to the endpoint memif', () => {
    assert.equal(conn.mechanism, 'VHOSTUSER', mesh.logs());
    assert.deepEqual(conn.path, ['vm', 'nsmgr-1', 'forwarder-1', 'nse-m']);
    const fwd = ours(mesh).filter((p) => p.tag.startsWith('nsm-fwd-'));
    assert.equal(fwd.length, 1, JSON.stringify(ours(mesh)));
    assert.match(fwd[0]!.argv, /net_vhost0,iface=\S+\/vhost-[0-9a-f]{12}\/v0\.sock,/);
    assert.match(fwd[0]!.argv, /net_memif1,role=client,/);
    assert.match(fwd[0]!.argv, /--lcores=0@(\d+),1@\1/);
  });

  await t.test('packets both ways; Close leaves no DPDK process, socket or directory', () => trafficAndClose(t, mesh, nse, app, [appDir, nseDir]));
});

test('VHOSTUSER across two nodes over VXLAN: virtio-user -> vhost PMD -> af_packet/VXLAN -> memif macswap, both ways', { skip: !hasTestpmd() && 'dpdk-testpmd is not installed' }, async (t) => {
  const mesh = new Mesh(t);
  const { n1, n2 } = await twoNodes(t, mesh, { family: 4, cidr: '169.254.1.0/24', lists: [['vxlan'], ['vxlan']], endpoint: false });
  const { nse, app, conn, nseDir, appDir } = await connect(mesh, mesh.sock('nsmgr-2'), mesh.sock('nsmgr-1'), n2, n1);

  await t.test('VHOSTUSER on the client, VXLAN between the nodes, vhost joined to the tunnel by af_packet', () => {
    assert.equal(conn.mechanism, 'VHOSTUSER', mesh.logs());
    assert.equal(conn.remoteMechanism, 'VXLAN');
    assert.deepEqual(conn.path, ['vm', 'nsmgr-1', 'forwarder-1', 'nsmgr-2', 'forwarder-2', 'nse-m']);
    assert.equal(ours(mesh).filter((p) => p.tag.startsWith('nsm-fwd-') && /net_vhost0,.*net_af_packet1,iface=nsm-m/.test(p.argv)).length, 1, JSON.stringify(ours(mesh)));
  });

  await t.test('packets both ways; Close leaves no DPDK process, tunnel, socket or directory', async () => {
    await trafficAndClose(t, mesh, nse, app, [appDir, nseDir]);
    await waitFor('no tunnel interface', () => [...links(n1), ...links(n2)].every((l) => !l.startsWith('nsm-m')), 5000);
  });
});
