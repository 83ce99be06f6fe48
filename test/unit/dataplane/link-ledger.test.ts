// LinkLedger: records created links in a file; a new ledger over the same file
// treats them as orphans until re-created, and sweep removes the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LinkLedger } from '../../../src/dataplane/link-ledger.js';
import type { ForwarderDataplane } from '../../../src/sdk/networkservice/program-dataplane.js';

function fakeDataplane(deleted: string[]): ForwarderDataplane {
  return {
    createVeth: async () => {},
    createVxlan: async () => {},
    addAddress: async () => {},
    addRoute: async () => {},
    deleteLink: async (netns, name) => {
      deleted.push(`${netns}|${name}`);
      return true;
    },
  };
}

test('a restarted ledger adopts re-created links and sweeps the others', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'fwd.links.json');
  const deleted: string[] = [];

  const first = new LinkLedger(file);
  const dp1 = first.track(fakeDataplane(deleted));
  await dp1.createVeth({ name: 'nsm-1', netns: 'a', peerName: 'p1', peerNetns: 'b', alias: 'nsm:c1' });
  await dp1.createVxlan({ name: 'nsm-2', targetNetns: 'c', vni: 7, local: '198.18.0.1', remote: '198.18.0.2', alias: 'nsm:c2' });
  await dp1.createVeth({ name: 'nsm-3', netns: 'a', peerName: 'p3', peerNetns: 'b', alias: 'nsm:c3' });
  await dp1.deleteLink('a', 'nsm-3');
  assert.equal(first.orphanCount, 0);

  const second = new LinkLedger(file);
  assert.equal(second.orphanCount, 2);
  const dp2 = second.track(fakeDataplane(deleted));
  await dp2.createVeth({ name: 'nsm-1', netns: 'a', peerName: 'p1', peerNetns: 'b', alias: 'nsm:c1' });
  assert.equal(second.orphanCount, 1);
  deleted.length = 0;
  assert.equal(await second.sweep(fakeDataplane(deleted)), 1);
  assert.deepEqual(deleted, ['c|nsm-2']);
  assert.equal(new LinkLedger(file).orphanCount, 1, 'only the adopted link remains recorded');
});

test('a missing or corrupt ledger file means nothing to adopt', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  try {
    assert.equal(new LinkLedger(join(dir, 'none.json')).orphanCount, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a link of an earlier life seen again under its alias (adopted in place) is no longer an orphan', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'fwd.links.json');
  const deleted: string[] = [];
  await new LinkLedger(file).track(fakeDataplane(deleted)).createVxlan({ name: 'nsm-2', targetNetns: 'c', vni: 7, local: '198.18.0.1', remote: '198.18.0.2', alias: 'nsm:c2' });
  await new LinkLedger(file).track(fakeDataplane(deleted)).createVeth({ name: 'nsm-1', netns: 'a', peerName: 'p1', peerNetns: 'b', alias: 'nsm:c1' });

  const ledger = new LinkLedger(file);
  assert.equal(ledger.orphanCount, 2);
  const aliases: Record<string, string> = { 'c|nsm-2': 'nsm:c2', 'a|nsm-1': 'nsm:someone-else', 'b|p1': 'nsm:c1' };
  const dp = ledger.track({ ...fakeDataplane(deleted), linkInfo: async (netns, name) => ({ alias: aliases[`${netns}|${name}`]!, kind: 'vxlan' }) });
  assert.equal((await dp.linkInfo!('c', 'nsm-2'))?.alias, 'nsm:c2');
  assert.equal(ledger.orphanCount, 1, 'the vxlan is known again');
  await dp.linkInfo!('a', 'nsm-1');
  await dp.linkInfo!('b', 'p1');
  assert.equal(ledger.orphanCount, 1, 'another alias, or a link never recorded (a veth peer), changes nothing');
  deleted.length = 0;
  await ledger.sweep(fakeDataplane(deleted));
  assert.deepEqual(deleted, ['a|nsm-1']);
});

test('a link is on disk before it is created: a forwarder killed mid-create leaves an orphan the next life sweeps', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'fwd.links.json');
  const deleted: string[] = [];
  let seenByNextLife = -1;
  const dp = new LinkLedger(file).track({
    ...fakeDataplane(deleted),
    // The moment `ip link add` runs, the record must already be readable by a new life.
    createVeth: async () => {
      seenByNextLife = readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('"nsm-9"')).length;
      throw new Error('killed');
    },
  });
  await assert.rejects(dp.createVeth({ name: 'nsm-9', netns: 'a', peerName: 'p9', peerNetns: 'b', alias: 'nsm:c9' }), /killed/);
  assert.equal(seenByNextLife, 1);
  assert.equal(new LinkLedger(file).orphanCount, 0, 'a failed create that was not recorded before is forgotten again');
  assert.equal(statSync(file).mode & 0o777, 0o600, 'the ledger is not world-readable');
});

test('sweep removes untagged links (killed before tagging) and ours, never a link that carries another alias', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'fwd.links.json');
  const deleted: string[] = [];
  const first = new LinkLedger(file).track(fakeDataplane(deleted));
  for (const [name, alias] of [['nsm-1', 'nsm:c1'], ['nsm-2', 'nsm:c2'], ['nsm-3', 'nsm:c3'], ['nsm-4', 'nsm:c4']] as const) {
    await first.createVeth({ name, netns: 'a', peerName: `p${name}`, peerNetns: 'b', alias });
  }
  const kernel: Record<string, string | undefined> = { 'a|nsm-1': '', 'a|nsm-2': 'nsm:c2', 'a|nsm-3': 'nsm:other' };
  const ledger = new LinkLedger(file);
  deleted.length = 0;
  const removed = await ledger.sweep({
    ...fakeDataplane(deleted),
    linkInfo: async (netns, name) => (`${netns}|${name}` in kernel ? { alias: kernel[`${netns}|${name}`]!, kind: 'veth' } : undefined),
  });
  assert.equal(removed, 2);
  assert.deepEqual(deleted.sort(), ['a|nsm-1', 'a|nsm-2']);
  assert.equal(ledger.orphanCount, 0);
  assert.equal(new LinkLedger(file).orphanCount, 0);
});

test('linksTagged answers one connection\'s links from the alias index, across restarts, deletions and a re-tagged name', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'fwd.links.json');
  const dp = new LinkLedger(file).track(fakeDataplane([]));
  for (let i = 0; i < 50; i++) await dp.createVeth({ name: `nsm-${i}`, netns: 'a', peerName: `p${i}`, peerNetns: 'b', alias: `nsm:c${i}` });
  await dp.createVxlan({ name: 'vx-7', targetNetns: 'c', vni: 7, local: '198.18.0.1', alias: 'nsm:c7' });
  assert.deepEqual(dp.linksTagged!('nsm:c7'), [{ netns: 'a', name: 'nsm-7' }, { netns: 'c', name: 'vx-7' }]);
  assert.deepEqual(dp.linksTagged!('nsm:none'), []);
  await dp.deleteLink('a', 'nsm-7');
  assert.deepEqual(dp.linksTagged!('nsm:c7'), [{ netns: 'c', name: 'vx-7' }]);
  // The same name recorded for another connection moves to that connection's tag.
  await dp.createVeth({ name: 'nsm-8', netns: 'a', peerName: 'q8', peerNetns: 'b', alias: 'nsm:c9' });
  assert.deepEqual(dp.linksTagged!('nsm:c8'), []);
  assert.deepEqual(dp.linksTagged!('nsm:c9'), [{ netns: 'a', name: 'nsm-9' }, { netns: 'a', name: 'nsm-8' }]);
  // A new life reads the same record from the file.
  const again = new LinkLedger(file).track(fakeDataplane([]));
  assert.deepEqual(again.linksTagged!('nsm:c7'), [{ netns: 'c', name: 'vx-7' }]);
  assert.deepEqual(again.linksTagged!('nsm:c9'), [{ netns: 'a', name: 'nsm-9' }, { netns: 'a', name: 'nsm-8' }]);
});
