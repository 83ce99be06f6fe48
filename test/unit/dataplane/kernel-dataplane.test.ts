// ledgeredDataplane: any ForwarderDataplane with a ledger of its links; a new life
// over the same ledger file reports the orphans, sweeps them, and closes the driver.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultLedgerFile, ledgeredDataplane } from '../../../src/dataplane/kernel-dataplane.js';
import type { ForwarderDataplane } from '../../../src/sdk/networkservice/program-dataplane.js';

function ops(deleted: string[], closed: { n: number }): ForwarderDataplane & { close(): void } {
  return {
    createVeth: async () => {},
    createVxlan: async () => {},
    addAddress: async () => {},
    addRoute: async () => {},
    deleteLink: async (netns, name) => (deleted.push(`${netns}|${name}`), true),
    close: () => void closed.n++,
  };
}

test('a new life reports the links of the old one, sweeps them, and closes its driver', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ledgerFile = join(dir, 'fwd.links.json');
  const deleted: string[] = [];
  const closed = { n: 0 };

  const first = ledgeredDataplane(ops(deleted, closed), { ledgerFile });
  assert.equal(first.orphanCount, 0);
  await first.createVeth({ name: 'nsm-1', netns: 'a', peerName: 'nse-1', peerNetns: 'b', alias: 'nsm:c1' });
  assert.deepEqual(first.linksTagged?.('nsm:c1'), [{ netns: 'a', name: 'nsm-1' }]);

  const second = ledgeredDataplane(ops(deleted, closed), { ledgerFile });
  assert.equal(second.orphanCount, 1);
  assert.equal(await second.sweepOrphans?.(), 1);
  assert.deepEqual(deleted, ['a|nsm-1']);
  second.close?.();
  assert.equal(closed.n, 1);
});

test('the ledger lives beside a unix socket, or in /var/lib/networkservicemesh for TCP', () => {
  assert.equal(defaultLedgerFile('unix:///run/x/fwd.sock', 'fwd'), '/run/x/fwd.links.json');
  assert.equal(defaultLedgerFile('tcp://127.0.0.1:5003', 'fwd'), '/var/lib/networkservicemesh/fwd.links.json');
});
