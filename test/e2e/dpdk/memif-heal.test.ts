// E2E, one node: MEMIF liveness and heal. A DPDK client (testpmd flowgen) and a macswap endpoint are
// cross-connected by the forwarder's testpmd; the client's check reads its own counters (sent, none
// back = broken). Killing the cross-connect testpmd, then the endpoint's testpmd, heals the connection
// each time and the packets flow both ways again; Close leaves no DPDK process or file behind.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { before, test } from 'node:test';
import { sweepStaleTestNetns } from '../helpers/netns.js';
import { waitFor } from '../helpers/mesh.js';
import { appStats, hasTestpmd, memifMesh, nthLine } from './helpers.js';

before(async () => {
  await sweepStaleTestNetns();
});

test('MEMIF heal: a killed cross-connect or endpoint testpmd is noticed by the client and healed; packets flow again', { skip: !hasTestpmd() && 'dpdk-testpmd is not installed', timeout: 120_000 }, async (t) => {
  const t0 = Date.now();
  const at = (what: string) => t.diagnostic(`${what} at ${Date.now() - t0} ms`);
  const { mesh, dpdkDir, nseDir, appDir, nse, app, ours, flowing } = await memifMesh(t);
  at('connection up');
  await flowing('before the faults');

  const killAndHeal = async (n: number, prefix: string, who: string) => {
    const victim = ours().find((p) => p.tag.startsWith(prefix));
    assert.ok(victim, `no ${who} testpmd: ${JSON.stringify(ours())}`);
    process.kill(victim.pid, 'SIGKILL');
    at(`${who} testpmd killed`);
    await nthLine(app, /"state":"HEALING"/, n, 20_000);
    at('client: HEALING');
    await nthLine(app, /"state":"UP"/, n, 30_000);
    at('client: UP again');
    const s = await flowing(`after the ${who} was killed`);
    assert.ok(ours().some((p) => p.tag.startsWith(prefix) && p.pid !== victim.pid), `a new ${who} testpmd: ${JSON.stringify(ours())}`);
    return s;
  };

  await t.test('the cross-connect testpmd killed: heal, packets both ways again', async () => {
    await killAndHeal(1, 'nsm-fwd-', 'cross-connect');
  });
  await t.test('the endpoint\'s testpmd killed: heal, packets both ways again', async () => {
    await killAndHeal(2, 'nsm-mac-', 'endpoint');
  });

  await t.test('Close: the endpoint counted packets both ways after the last heal; no DPDK process, log or socket is left', async () => {
    const heals = app.lines().filter((l) => l.includes('"state":"HEALING"')).length;
    t.diagnostic(`heals: ${heals}; reasons: ${app.stderr.split('\n').filter((l) => l.includes('healing')).map((l) => (JSON.parse(l) as { reason?: string }).reason).join(' | ')}`);
    // A memif port's counters read 0 once its peer is gone (the forwarder may stop the cross-connect
    // before the Close reaches the endpoint), so the report at Close is the application's last periodic
    // sample: wait for one that counted the packets since the last heal.
    await waitFor('the endpoint\'s application counted packets', () => appStats(nseDir).rx > 0, 10_000);
    assert.deepEqual(await app.stop(), { code: 0, signal: null }, mesh.logs());
    await waitFor('the endpoint\'s counts', () => nse.lines().some((l) => l.includes('"memif"') && (JSON.parse(l) as { memif: { rx: number } }).memif.rx > 1000), 10_000);
    const counts = nse.lines().filter((l) => l.includes('"memif"')).map((l) => (JSON.parse(l) as { memif: { rx: number; tx: number } }).memif);
    t.diagnostic(`endpoint applications (one per heal): ${JSON.stringify(counts)}`);
    const last = counts.at(-1)!;
    // Sampled once a second: counted both ways, not compared exactly.
    assert.ok(last.rx > 0 && last.tx > 0 && last.tx <= last.rx, JSON.stringify(counts));
    await waitFor('no DPDK process', () => ours().length === 0, 5000).catch((err: unknown) => assert.fail(`${String(err)}: ${JSON.stringify(ours())}\n${mesh.logs(30)}`));
    assert.deepEqual(readdirSync(appDir), []);
    assert.deepEqual(existsSync(nseDir) ? readdirSync(nseDir) : [], []);
    assert.deepEqual(existsSync(dpdkDir) ? readdirSync(dpdkDir) : [], [], 'cross-connect logs');
  });
});
