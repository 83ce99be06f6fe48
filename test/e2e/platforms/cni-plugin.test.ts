// E2E: nsm-cni invoked directly as a runtime does (CNI_* env, config on stdin) against a real mesh:
// ADD into a fresh namespace, ping the endpoint, CHECK, DEL (twice, and for a stranger); bad input
// (unknown service, vanished namespace) gets CNI error codes and leaves nothing behind.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { closeAllChannels } from '../../../src/api/index.js';
import { callCni, installCni, monitorIds, startCniDaemon } from '../helpers/cni.js';
import { createTestNetns, deleteTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';
import { links, Mesh, waitFor } from '../helpers/mesh.js';
import { oneNode } from '../helpers/one-node.js';

before(async () => {
  await sweepStaleTestNetns();
});

test('nsm-cni: ADD/CHECK/DEL into a fresh namespace; DEL is idempotent; bad input gets CNI codes', async (t) => {
  t.after(() => closeAllChannels());
  const mesh = new Mesh(t);
  const [node, nse, c1, c2, c3] = await createTestNetns(t, 'node', 'nse', 'c1', 'c2', 'c3');
  const { nsmgrUrl } = await oneNode(mesh, node);
  await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.7.0/24', netns: node });
  const daemonSocket = await startCniDaemon(mesh);
  const bin = await installCni(mesh);
  const config = { cniVersion: '1.0.0', name: 'meshnet', type: 'nsm-cni', nsmgr: nsmgrUrl, requests: ['kernel://icmp-responder/nsm-1?app=cni'], daemonSocket };
  const env = (command: string, netns = c1, id = 'ctr-1') => ({ CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: `/var/run/netns/${netns}`, CNI_IFNAME: 'eth0' });

  await t.test('VERSION', async () => {
    const r = await callCni(bin, { CNI_COMMAND: 'VERSION' }, { cniVersion: '1.0.0' });
    assert.equal(r.code, 0);
    assert.ok((r.out as { supportedVersions: string[] }).supportedVersions.includes('1.0.0'));
  });

  let dst = '';
  await t.test('ADD returns the interface and its addresses; the namespace pings the endpoint', async () => {
    const r = await callCni(bin, env('ADD'), config);
    assert.equal(r.code, 0, r.stdout);
    t.diagnostic(`nsm-cni ADD took ${r.ms.toFixed(1)} ms`);
    const res = r.out as { interfaces: { name: string; mac: string; sandbox: string }[]; ips: { address: string; interface: number }[]; routes: { dst: string }[] };
    assert.deepEqual(res.interfaces.map(({ name, sandbox }) => ({ name, sandbox })), [{ name: 'nsm-1', sandbox: `/var/run/netns/${c1}` }]);
    assert.match(res.interfaces[0]!.mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    assert.match(res.ips[0]!.address, /^169\.254\.7\.\d+\/32$/);
    assert.equal(res.ips[0]!.interface, 0);
    dst = res.routes.at(-1)!.dst.split('/')[0]!;
    assert.match(dst, /^169\.254\.7\.\d+$/);
    assert.deepEqual(links(c1), ['nsm-1']);
    assert.ok(ping(c1, dst), `ping ${dst} from the container namespace`);
    assert.equal((await monitorIds(nsmgrUrl)).length, 1);
  });

  await t.test('CHECK passes while the interface is there, fails with a readable message when it is not', async () => {
    const ok = await callCni(bin, env('CHECK'), { ...config, prevResult: {} });
    assert.equal(ok.code, 0, ok.stdout);
    const other = await callCni(bin, env('CHECK', c1, 'ctr-unknown'), config);
    assert.equal(other.code, 1);
    assert.match((other.out as { msg: string }).msg, /no attachment meshnet\/ctr-unknown\/eth0/);
  });

  await t.test('DEL closes the connection (no interface, nothing in the monitor stream); DEL twice and DEL of a stranger succeed', async () => {
    const r = await callCni(bin, env('DEL'), config);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.stdout, '');
    assert.deepEqual(links(c1), []);
    assert.deepEqual(links(nse), [], 'the endpoint side is gone too');
    await waitFor('nsmgr forgets the connection', async () => (await monitorIds(nsmgrUrl)).length === 0, 5000);
    assert.equal((await callCni(bin, env('DEL'), config)).code, 0);
    assert.equal((await callCni(bin, { ...env('DEL', c2, 'never-added') }, config)).code, 0);
  });

  await t.test('unknown service: code 11 with the service named; nothing left in the namespace or the nsmgr', async () => {
    const r = await callCni(bin, env('ADD', c2, 'ctr-2'), { ...config, requests: ['kernel://icmp-responder/nsm-1', 'kernel://no-such-service/nsm-2'], timeoutMs: 3000 });
    assert.equal(r.code, 1);
    const e = r.out as { code: number; msg: string };
    assert.equal(e.code, 11, r.stdout);
    assert.match(e.msg, /no-such-service/);
    assert.deepEqual(links(c2), []);
    await waitFor('no connection in the nsmgr', async () => (await monitorIds(nsmgrUrl)).length === 0, 5000);
  });

  await t.test('a namespace that vanished: ADD is code 3; DEL succeeds', async () => {
    await deleteTestNetns(c2);
    const r = await callCni(bin, env('ADD', c2, 'ctr-3'), config);
    assert.equal((r.out as { code: number }).code, 3, r.stdout);
    assert.equal((await callCni(bin, env('DEL', c2, 'ctr-3'), config)).code, 0);
  });

  await t.test('a config without requests is code 7', async () => {
    const r = await callCni(bin, env('ADD'), { ...config, requests: [] });
    assert.equal((r.out as { code: number }).code, 7, r.stdout);
  });

  await t.test('DEL after the mesh went away (nsmgr and forwarder killed): succeeds and removes the interface', async () => {
    const add = await callCni(bin, env('ADD', c3, 'ctr-4'), config);
    assert.equal(add.code, 0, add.stdout);
    assert.deepEqual(links(c3), ['nsm-1']);
    for (const p of mesh.procs.filter((x) => x.name === 'nsmgr-1' || x.name === 'forwarder-1')) await p.kill();
    const del = await callCni(bin, env('DEL', c3, 'ctr-4'), { ...config, timeoutMs: 3000 });
    assert.equal(del.code, 0, del.stdout);
    assert.deepEqual(links(c3), [], 'the daemon removed the interface Close could not');
  });
});
