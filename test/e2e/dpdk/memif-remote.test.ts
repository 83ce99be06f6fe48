// E2E, two nodes: a DPDK client on node 1 (testpmd flowgen on memif) and a DPDK endpoint on node 2
// (testpmd macswap on memif) through the mesh: memif -> forwarder-1's testpmd -> af_packet on a VXLAN
// interface -> underlay -> VXLAN -> af_packet -> forwarder-2's testpmd -> memif. Counts both ways.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { sweepStaleTestNetns } from '../helpers/netns.js';
import { links, Mesh, waitFor } from '../helpers/mesh.js';
import { twoNodes } from '../helpers/two-nodes.js';
import { dpdkProcesses, hasTestpmd } from './helpers.js';

before(async () => {
  await sweepStaleTestNetns();
});

test('MEMIF across two nodes over VXLAN: packets both ways, nothing left after Close', { skip: !hasTestpmd() && 'dpdk-testpmd is not installed' }, async (t) => {
  const mesh = new Mesh(t);
  const { n1, n2 } = await twoNodes(t, mesh, { family: 4, cidr: '169.254.1.0/24', lists: [['vxlan'], ['vxlan']], endpoint: false });
  const nseDir = join(mesh.dir, 'run-nse');
  const appDir = join(mesh.dir, 'run-app');
  const nse = mesh.spawn('nse-m', ['nse', 'macswap', '--name', 'nse-m', '--service', 'fast', '--nsmgr', mesh.sock('nsmgr-2'), '--runtime-dir', nseDir, '--listen', mesh.sock('nse-m')], { netns: n2 });
  await nse.waitLine(/^nse .* serving /, 30_000);
  const app = mesh.spawnNsc({ name: 'app', nsmgr: mesh.sock('nsmgr-1'), workloadNetns: n1, urls: ['memif://fast/m0'], netns: n1, extra: ['--runtime-dir', appDir, '--memif-seconds', '3s'] });
  const conn = JSON.parse(await app.waitLine(/^\{"id"/, 60_000)) as { mechanism: string; remoteMechanism?: string; path: string[] };

  await t.test('MEMIF on both ends, VXLAN between the nodes, a tagged testpmd per forwarder', () => {
    assert.equal(conn.mechanism, 'MEMIF', mesh.logs());
    assert.equal(conn.remoteMechanism, 'VXLAN');
    assert.deepEqual(conn.path, ['app', 'nsmgr-1', 'forwarder-1', 'nsmgr-2', 'forwarder-2', 'nse-m']);
    assert.equal(dpdkProcesses().filter((p) => p.tag.startsWith('nsm-fwd-') && /net_af_packet1,iface=nsm-m/.test(p.argv)).length, 2, JSON.stringify(dpdkProcesses()));
    assert.equal(links(n1).filter((l) => l.startsWith('nsm-m')).length, 1, `node 1 links: ${links(n1)}`);
  });

  const sent = (JSON.parse(await app.waitLine(/"memif"/, 20_000)) as { memif: { rx: number; tx: number } }).memif;
  t.diagnostic(`client: sent ${sent.tx}, received back ${sent.rx}`);
  await t.test('the client sent packets across and got them back', () => {
    assert.ok(sent.tx > 1000, `sent ${sent.tx}`);
    assert.ok(sent.rx > 1000, `received ${sent.rx}`);
  });

  await t.test('Close: the endpoint counted them; no testpmd, tunnel or socket directory is left', async () => {
    assert.deepEqual(await app.stop(), { code: 0, signal: null }, mesh.logs());
    const bounced = (JSON.parse(await nse.waitLine(/"memif"/, 10_000)) as { memif: { rx: number; tx: number } }).memif;
    t.diagnostic(`endpoint: received ${bounced.rx}, sent back ${bounced.tx}`);
    // Endpoint counters are sampled once a second (see memif-local): both ways counted, not compared exactly.
    assert.ok(bounced.rx > 1000 && bounced.rx <= sent.tx && bounced.tx > 1000 && bounced.tx <= bounced.rx, JSON.stringify({ bounced, sent }));
    await waitFor('no DPDK process', () => dpdkProcesses().length === 0, 5000);
    await waitFor('no tunnel interface', () => [...links(n1), ...links(n2)].every((l) => !l.startsWith('nsm-m')), 5000);
    assert.deepEqual(readdirSync(appDir), []);
  });
});
