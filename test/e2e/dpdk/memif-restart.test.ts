// E2E, one node: the forwarder SIGKILLed under a MEMIF connection. Its cross-connect testpmd runs on
// (own session) and keeps carrying packets; the restarted forwarder adopts it when the connection is
// requested again (same process, no gap), and keeps it past the sweep. Killed again, and the client
// gone meanwhile: the next forwarder's sweep stops the testpmd and removes its files. The same adoption
// when an nsmgr with its in-process forwarder is SIGKILLed and restarted.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, test } from 'node:test';
import { sweepStaleTestNetns } from '../helpers/netns.js';
import { waitFor, type MeshProcess } from '../helpers/mesh.js';
import { hasTestpmd, memifMesh } from './helpers.js';

before(async () => {
  await sweepStaleTestNetns();
});

const SWEEP_MS = 4000;

test('MEMIF and a forwarder restart: the running cross-connect is adopted; one whose connection did not come back is swept', { skip: !hasTestpmd() && 'dpdk-testpmd is not installed', timeout: 150_000 }, async (t) => {
  const t0 = Date.now();
  const at = (what: string) => t.diagnostic(`${what} at ${Date.now() - t0} ms`);
  const m = await memifMesh(t, { env: { NSM_SWEEP_AFTER: `${SWEEP_MS}ms` } });
  const { dpdkDir, app, flowing } = m;
  let fwd = m.fwd!;
  const forwarder = m.restart;
  at('connection up');

  /** This mesh's cross-connect testpmds (other tests may run DPDK on the machine at the same time). */
  const crossConnects = () => m.ours().filter((p) => p.tag.startsWith('nsm-fwd-'));
  const logged = (p: MeshProcess, re: RegExp, ms: number) => waitFor(`${p.name} logs ${re}`, () => re.test(p.stderr), ms);

  await flowing('before the restart');
  const [first] = crossConnects();
  assert.ok(first && crossConnects().length === 1, JSON.stringify(crossConnects()));

  await t.test('forwarder SIGKILLed: its testpmd runs on and packets keep flowing', async () => {
    await fwd.kill();
    at('forwarder killed');
    assert.deepEqual(crossConnects().map((p) => p.pid), [first.pid]);
    await flowing('without a forwarder');
  });

  await t.test('restarted: the connection comes back and the same testpmd is adopted, and kept past the sweep', async () => {
    fwd = await forwarder();
    at('forwarder restarted');
    await logged(fwd, /adopted the running cross-connect testpmd/, 30_000);
    at('testpmd adopted');
    await sleep(SWEEP_MS + 1000);
    assert.deepEqual(crossConnects().map((p) => p.pid), [first.pid], `${JSON.stringify(crossConnects())}\n${fwd.tail()}`);
    assert.doesNotMatch(fwd.stderr, /left by an earlier forwarder|cannot adopt/);
    await flowing('after the restart');
  });

  await t.test('killed again and the client gone meanwhile: the next forwarder sweeps the testpmd and its files', async () => {
    await fwd.kill();
    // The client's Close cannot reach the forwarder: its connection never comes back.
    await app.stop();
    at('forwarder killed, client stopped');
    assert.deepEqual(crossConnects().map((p) => p.pid), [first.pid]);
    fwd = await forwarder();
    await logged(fwd, /left by an earlier forwarder/, SWEEP_MS + 30_000);
    at('swept');
    await waitFor('no cross-connect testpmd', () => crossConnects().length === 0, 15_000);
    assert.deepEqual(existsSync(dpdkDir) ? readdirSync(dpdkDir) : [], [], 'cross-connect logs');
    assert.equal(existsSync(`/var/run/dpdk/${first.tag}`), false, 'DPDK runtime directory');
  });
});

test('MEMIF and an nsmgr with its in-process forwarder SIGKILLed: the restarted one adopts the running cross-connect', { skip: !hasTestpmd() && 'dpdk-testpmd is not installed', timeout: 150_000 }, async (t) => {
  const m = await memifMesh(t, { withForwarder: true });
  const { app, flowing } = m;
  let mgr = m.mgr;
  const nsmgr = m.restart;
  const crossConnects = () => m.ours().filter((p) => p.tag.startsWith('nsm-fwd-'));
  await flowing('before');
  const [first] = crossConnects();
  assert.ok(first);
  await mgr.kill();
  mgr = await nsmgr();
  await waitFor('the nsmgr adopts the testpmd', () => /adopted the running cross-connect testpmd/.test(mgr.stderr), 30_000);
  assert.deepEqual(crossConnects().map((p) => p.pid), [first.pid], mgr.tail());
  await flowing('after the nsmgr restart');
  assert.deepEqual(await app.stop(), { code: 0, signal: null }, m.mesh.logs());
  await waitFor('Close stops the adopted testpmd', () => crossConnects().length === 0, 10_000);
});
