// E2E, one node: a DPDK client (dpdk-testpmd flowgen on memif) and a DPDK endpoint (testpmd macswap
// on memif) connected through the mesh: the forwarder cross-connects them with its own supervised
// testpmd (io forwarding). Counts both ways; Close leaves no DPDK process and no socket directory.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { createTestNetns, sweepStaleTestNetns } from '../helpers/netns.js';
import { Mesh, waitFor } from '../helpers/mesh.js';
import { oneNode } from '../helpers/one-node.js';
import { dpdkProcesses, hasTestpmd } from './helpers.js';

before(async () => {
  await sweepStaleTestNetns();
});

test('MEMIF through the mesh on one node: packets both ways, tagged and CPU-limited testpmd, Close leaves nothing', { skip: !hasTestpmd() && 'dpdk-testpmd is not installed' }, async (t) => {
  const mesh = new Mesh(t);
  const t0 = Date.now();
  const at = (what: string) => t.diagnostic(`${what} at ${Date.now() - t0} ms`);
  const [node] = await createTestNetns(t, 'node');
  const { nsmgrUrl } = await oneNode(mesh, node);
  const nseDir = join(mesh.dir, 'run-nse');
  const appDir = join(mesh.dir, 'run-app');
  const nse = mesh.spawn('nse-m', ['nse', 'macswap', '--name', 'nse-m', '--service', 'fast', '--nsmgr', nsmgrUrl, '--runtime-dir', nseDir, '--listen', mesh.sock('nse-m')], { netns: node });
  await nse.waitLine(/^nse .* serving /);
  at('endpoint up');
  const app = mesh.spawnNsc({ name: 'app', nsmgr: nsmgrUrl, workloadNetns: node, urls: ['memif://fast/m0'], netns: node, extra: ['--runtime-dir', appDir, '--memif-seconds', '3s'] });
  const conn = JSON.parse(await app.waitLine(/^\{"id"/, 20_000)) as { id: string; mechanism: string; path: string[]; endpoint: string };

  at('connection up');
  await t.test('the connection is MEMIF, through the forwarder, with a 0700 directory and a 0600 socket', () => {
    assert.equal(conn.mechanism, 'MEMIF', mesh.logs());
    assert.equal(conn.endpoint, 'nse-m');
    assert.deepEqual(conn.path, ['app', 'nsmgr-1', 'forwarder-1', 'nse-m']);
    const [dir] = readdirSync(appDir);
    assert.match(dir!, /^memif-[0-9a-f]{12}$/);
    assert.equal(statSync(join(appDir, dir!)).mode & 0o777, 0o700);
    assert.equal(statSync(join(appDir, dir!, 'm0.sock')).mode & 0o777, 0o600);
  });

  await t.test('the forwarder runs one testpmd for the connection, tagged and pinned to one CPU', () => {
    const fwd = dpdkProcesses().filter((p) => p.tag.startsWith('nsm-fwd-'));
    assert.equal(fwd.length, 1, JSON.stringify(dpdkProcesses()));
    assert.match(fwd[0]!.argv, /--lcores=0@(\d+),1@\1/);
    assert.match(fwd[0]!.argv, /--forward-mode=io/);
  });

  const line = await app.waitLine(/"memif"/, 15_000);
  const sent = (JSON.parse(line) as { memif: { rx: number; tx: number } }).memif;
  t.diagnostic(`client: sent ${sent.tx}, received back ${sent.rx}`);

  await t.test('the client sent packets and got them back', () => {
    assert.ok(sent.tx > 1000, `sent ${sent.tx}`);
    assert.ok(sent.rx > 1000, `received ${sent.rx}`);
    assert.ok(sent.rx <= sent.tx, `received ${sent.rx} of ${sent.tx}`);
  });

  await t.test('Close: the endpoint counts what it bounced; no DPDK process, socket or directory is left', async () => {
    assert.deepEqual(await app.stop(), { code: 0, signal: null }, mesh.logs());
    const bounced = JSON.parse(await nse.waitLine(/"memif"/, 10_000)) as { id: string; memif: { rx: number; tx: number } };
    t.diagnostic(`endpoint: received ${bounced.memif.rx}, sent back ${bounced.memif.tx}`);
    // The endpoint's counters come from testpmd's once-a-second statistics (its exit report may be cut short
    // under load), so they can lag the client's by up to a second of traffic: both ways counted, not compared.
    assert.ok(bounced.memif.rx > 1000 && bounced.memif.rx <= sent.tx, `endpoint received ${bounced.memif.rx}; client sent ${sent.tx}, got ${sent.rx}`);
    assert.ok(bounced.memif.tx > 1000 && bounced.memif.tx <= bounced.memif.rx, `endpoint sent back ${bounced.memif.tx} of ${bounced.memif.rx}`);
    await waitFor('no DPDK process', () => dpdkProcesses().length === 0, 5000);
    assert.deepEqual(readdirSync(appDir), []);
    assert.deepEqual(existsSync(nseDir) ? readdirSync(nseDir) : [], []);
  });
});
