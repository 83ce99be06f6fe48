// E2E: interface counters over rtnetlink (readLinkCounters): one socket kept per namespace between reads, the
// counters move with traffic, a namespace deleted and made again under the same name is read through a new socket
// (never the old namespace the kept one pins), and kept sockets close once unused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { closeCounterSockets, keptCounterSockets, readLinkCounters } from '../../../src/dataplane/link-stats.js';
import { KernelDriver } from '../../../src/dataplane/index.js';
import { createNamedNetns, deleteNamedNetns } from '../../../src/dataplane/netns.js';
import { createTestNetns, ping, sweepStaleTestNetns, TEST_PREFIX } from '../helpers/netns.js';

before(async () => {
  await sweepStaleTestNetns();
});
after(() => closeCounterSockets());

const ipIn = (ns: string, ...args: string[]) => execFileSync('ip', ['-n', ns, ...args], { stdio: 'ignore' });

test('counters over a kept socket: they follow traffic, and the socket is reused while the namespace stays the same', async (t) => {
  const [a, b] = await createTestNetns(t, 'lca', 'lcb');
  execFileSync('ip', ['link', 'add', 'lc0', 'netns', a, 'type', 'veth', 'peer', 'name', 'lc1', 'netns', b]);
  ipIn(a, 'addr', 'add', '169.254.77.1/30', 'dev', 'lc0');
  ipIn(b, 'addr', 'add', '169.254.77.2/30', 'dev', 'lc1');
  ipIn(a, 'link', 'set', 'lc0', 'up');
  ipIn(b, 'link', 'set', 'lc1', 'up');
  closeCounterSockets();
  const first = (await readLinkCounters(a, ['lc0', 'missing'])).get('lc0');
  assert.ok(first, 'lc0 read');
  assert.equal(keptCounterSockets(), 1);
  for (let i = 0; i < 3; i++) assert.ok(ping(a, '169.254.77.2'), 'ping through the veth');
  const m = await readLinkCounters(a, ['lc0', 'missing']);
  assert.equal(m.has('missing'), false, 'an interface that is not there is left out');
  assert.ok(m.get('lc0')!.txPackets >= first.txPackets + 3, `tx packets grew: ${first.txPackets} -> ${m.get('lc0')!.txPackets}`);
  assert.equal(keptCounterSockets(), 1, 'the same socket');
  await readLinkCounters(b, ['lc1']);
  assert.equal(keptCounterSockets(), 2, 'one per namespace');
});

test('a namespace deleted and made again under its name is read anew; unused sockets close', async () => {
  const name = `${TEST_PREFIX}lcr`;
  await createNamedNetns(name);
  try {
    execFileSync('ip', ['-n', name, 'link', 'add', 'lcold', 'type', 'veth', 'peer', 'name', 'lcold1']);
    closeCounterSockets();
    assert.ok((await readLinkCounters(name, ['lcold'])).has('lcold'));
    assert.equal(keptCounterSockets(), 1);
    const driver = new KernelDriver({ rtnl: true });
    driver.closeNetns(name);
    assert.equal(keptCounterSockets(), 0, "closeNetns lets go of the namespace's counter socket too");
    driver.close();
    assert.ok((await readLinkCounters(name, ['lcold'])).has('lcold'));
    await deleteNamedNetns(name);
    await createNamedNetns(name);
    execFileSync('ip', ['-n', name, 'link', 'add', 'lcnew', 'type', 'veth', 'peer', 'name', 'lcnew1']);
    const m = await readLinkCounters(name, ['lcold', 'lcnew']);
    assert.deepEqual([...m.keys()], ['lcnew'], 'the new namespace, not the one the kept socket pinned');
    assert.equal(keptCounterSockets(), 1);
    // closed after 2 s unused (swept every second)
    const t0 = Date.now();
    while (keptCounterSockets() > 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 250));
    assert.equal(keptCounterSockets(), 0, 'closed once unused');
  } finally {
    closeCounterSockets();
    await deleteNamedNetns(name).catch(() => undefined);
  }
});
