// E2E: podman with its CNI backend (private CONTAINERS_CONF and CNI config dir) starts a busybox
// container whose network is nsm-cni; the container pings its endpoint; `podman rm` closes the
// connection: no interface left, nothing in the nsmgr's monitor stream.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { closeAllChannels } from '../../../src/api/index.js';
import { ensureBusyboxRootfs } from '../../../src/platforms/podman/rootfs.js';
import { installCni, monitorIds, startCniDaemon } from '../helpers/cni.js';
import { links, Mesh, waitFor } from '../helpers/mesh.js';
import { oneNode } from '../helpers/one-node.js';
import { createTestNetns, sweepStaleTestNetns, TEST_PREFIX } from '../helpers/netns.js';
import { privatePodman, RUN_FLAGS } from '../helpers/podman.js';

before(async () => {
  await sweepStaleTestNetns();
});

test('podman (CNI backend) container on an nsm-cni network pings its endpoint; podman rm closes the connection', async (t) => {
  t.after(() => closeAllChannels());
  const mesh = new Mesh(t);
  const [node, nse] = await createTestNetns(t, 'node', 'nse');
  const { nsmgrUrl } = await oneNode(mesh, node);
  await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.8.0/24', netns: node });
  const daemonSocket = await startCniDaemon(mesh);
  const bin = await installCni(mesh);
  const podman = privatePodman(join(mesh.dir, 'podman'), [bin, '/usr/lib/cni']);
  const network = `${TEST_PREFIX}net`;
  writeFileSync(
    join(podman.cniConfDir, `${network}.conflist`),
    JSON.stringify({ cniVersion: '1.0.0', name: network, plugins: [{ type: 'nsm-cni', nsmgr: nsmgrUrl, requests: ['kernel://icmp-responder?app=podman'], daemonSocket }] }),
  );
  const rootfs = await ensureBusyboxRootfs();
  const name = `${TEST_PREFIX}ctr`;
  t.after(() => podman.run('rm', '-f', '-i', '-t', '0', name).catch(() => undefined));

  const t0 = Date.now();
  await podman.run('run', '-d', '--name', name, '--network', network, ...RUN_FLAGS, '--rootfs', rootfs, '/bin/sleep', '600');
  t.diagnostic(`podman run with nsm-cni: ${Date.now() - t0} ms`);

  const addr = (await podman.run('exec', name, 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0')).trim();
  assert.match(addr, /inet 169\.254\.8\.\d+\/32/, addr);
  const ids = await monitorIds(nsmgrUrl);
  assert.equal(ids.length, 1, `one connection in the nsmgr: ${ids}`);
  const routes = await podman.run('exec', name, 'ip', '-4', 'route');
  const dst = /^(169\.254\.8\.\d+) dev eth0/m.exec(routes)?.[1];
  assert.ok(dst, `a route to the endpoint through eth0: ${routes}`);
  await podman.run('exec', name, 'ping', '-c1', '-W2', dst);

  await podman.run('rm', '-f', '-t', '0', name);
  await waitFor('the nsmgr forgets the connection', async () => (await monitorIds(nsmgrUrl)).length === 0, 10_000);
  assert.equal((await podman.run('ps', '-a', '-q', '--filter', `name=${name}`)).trim(), '');
  assert.deepEqual(links(nse), [], 'the endpoint side of the connection is gone too');
});
