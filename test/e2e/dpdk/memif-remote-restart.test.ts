// E2E, two nodes: the client-side forwarder SIGKILLed under a MEMIF connection over VXLAN. The restarted
// forwarder adopts both the tunnel interface and the testpmd whose af_packet socket is still bound to it;
// killed again with the client gone meanwhile, the next one sweeps the testpmd and the tunnel interface.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { sweepStaleTestNetns } from '../helpers/netns.js';
import { links, Mesh, waitFor } from '../helpers/mesh.js';
import { twoNodes } from '../helpers/two-nodes.js';
import { stopTestpmdUnder } from '../../../src/dataplane/dpdk/supervisor.js';
import { appStats, dpdkProcesses, hasTestpmd } from './helpers.js';

before(async () => {
  await sweepStaleTestNetns();
});

test('MEMIF across two nodes and a forwarder restart: testpmd and tunnel adopted, then swept once the client is gone', { skip: !hasTestpmd() && 'dpdk-testpmd is not installed', timeout: 180_000 }, async (t) => {
  const mesh = new Mesh(t);
  // Cross-connects outlive their forwarder by design (to be adopted): after the mesh is stopped, what is left under its directory goes, as `nsm down` does.
  t.after(() => stopTestpmdUnder(mesh.dir));
  const env = { NSM_DPDK_DIR: join(mesh.dir, 'dpdk'), NSM_SWEEP_AFTER: '4s' };
  const { n1, n2, fwdOpts, fwds } = await twoNodes(t, mesh, { family: 4, cidr: '169.254.1.0/24', lists: [['vxlan'], ['vxlan']], endpoint: false, env: [env, env] });
  const nse = mesh.spawn('nse-m', ['nse', 'macswap', '--name', 'nse-m', '--service', 'fast', '--nsmgr', mesh.sock('nsmgr-2'), '--runtime-dir', join(mesh.dir, 'run-nse'), '--listen', mesh.sock('nse-m')], { netns: n2 });
  await nse.waitLine(/^nse .* serving /, 30_000);
  const appDir = join(mesh.dir, 'run-app');
  const app = mesh.spawnNsc({ name: 'app', nsmgr: mesh.sock('nsmgr-1'), workloadNetns: n1, urls: ['memif://fast/m0'], netns: n1, extra: ['--runtime-dir', appDir, '--liveness-interval', '1s'] });
  assert.equal((JSON.parse(await app.waitLine(/^\{"id"/, 60_000)) as { remoteMechanism?: string }).remoteMechanism, 'VXLAN', mesh.logs());
  // Node 1's cross-connect: memif + af_packet on the tunnel (only this mesh's: other tests may run DPDK meanwhile).
  const node1 = () => dpdkProcesses().filter((p) => p.tag.startsWith('nsm-fwd-') && p.argv.includes(`${appDir}/`));
  const tunnels = () => links(n1).filter((l) => l.startsWith('nsm-m'));
  const flowing = async (what: string) => {
    const from = appStats(appDir).rx;
    await waitFor(`${what}: packets back`, () => appStats(appDir).rx > from + 1000, 20_000);
    const s = appStats(appDir);
    t.diagnostic(`${what}: client sent ${s.tx}, got back ${s.rx}`);
  };
  await flowing('before');
  const [first] = node1();
  assert.ok(first && tunnels().length === 1, JSON.stringify({ dpdk: node1(), links: links(n1) }));

  await t.test('restarted: the tunnel and the testpmd bound to it are adopted; packets flow', async () => {
    await fwds[0]!.kill();
    const fwd = await mesh.forwarder(fwdOpts[0]!);
    await waitFor('adopted', () => /adopted the running cross-connect testpmd/.test(fwd.stderr), 30_000);
    assert.deepEqual(node1().map((p) => p.pid), [first.pid], fwd.tail());
    await flowing('after the restart');
    fwds[0] = fwd;
  });

  await t.test('killed again, client gone: the next forwarder sweeps the testpmd and the tunnel interface', async () => {
    await fwds[0]!.kill();
    await app.stop();
    const fwd = await mesh.forwarder(fwdOpts[0]!);
    await waitFor('swept', () => /left by an earlier forwarder/.test(fwd.stderr), 20_000);
    await waitFor('no testpmd on node 1', () => node1().length === 0, 5000);
    await waitFor('no tunnel interface on node 1', () => tunnels().length === 0, 5000);
  });
});
