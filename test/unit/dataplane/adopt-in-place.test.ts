// Adoption in place after a forwarder restart: a re-Request of a connection whose veth pair an
// earlier life made, found (in one dump per namespace) exactly as the Request wants it, is kept
// without a single kernel command and claimed (the sweep leaves it); one whose addresses differ is
// deleted and built anew; a link made in this life never answers from the dump.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { kernel } from '../../../src/dataplane/mechanisms/kernel/index.js';
import { LinkLedger } from '../../../src/dataplane/link-ledger.js';
import type { DumpedLink, NetnsDump } from '../../../src/dataplane/netns-dump.js';
import type { ForwarderDataplane } from '../../../src/sdk/networkservice/program-dataplane.js';
import type { Side } from '../../../src/sdk/tools/mechanism-module.js';

function recordingDataplane(calls: string[]): ForwarderDataplane {
  return {
    createVeth: async (s) => void calls.push(`createVeth ${s.netns}/${s.name}`),
    createVxlan: async (s) => void calls.push(`createVxlan ${s.targetNetns}/${s.name}`),
    addAddress: async (ns, dev, cidr) => void calls.push(`addAddress ${ns}/${dev} ${cidr}`),
    addRoute: async (ns, r) => void calls.push(`addRoute ${ns}/${r.dev} ${r.prefix}`),
    deleteLink: async (ns, name) => (calls.push(`deleteLink ${ns}/${name}`), true),
  };
}

const side = (netns: string, name: string, addr: string, peer: string): Side => ({ netns, name, addrs: [addr], routes: [{ prefix: peer, nextHop: '' }] });
const veth = (name: string, alias: string, addr: string, route: string): DumpedLink => ({ name, alias, kind: 'veth', up: true, addrs: [addr], routes: [{ prefix: route }], proxies: [] });

test('a restarted forwarder keeps a veth pair that is as the Request wants it, and rebuilds one that differs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'adopt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'fwd.links.json');
  const first = new LinkLedger(file).track(recordingDataplane([]));
  await first.createVeth({ name: 'nsm-1', netns: 'cl', peerName: 'nsm-c1', peerNetns: 'ep', alias: 'nsm:c1' });
  await first.createVeth({ name: 'nsm-2', netns: 'cl', peerName: 'nsm-c2', peerNetns: 'ep', alias: 'nsm:c2' });

  // What the kernel holds after the kill: c1 exactly as before; c2 with other addresses than its Request now wants.
  const kernelNow: Record<string, NetnsDump> = {
    cl: { links: new Map([['nsm-1', veth('nsm-1', 'nsm:c1', '169.254.0.1/32', '169.254.0.0/32')], ['nsm-2', veth('nsm-2', 'nsm:c2', '169.254.0.9/32', '169.254.0.8/32')]]) },
    ep: { links: new Map([['nsm-c1', veth('nsm-c1', 'nsm:c1', '169.254.0.0/32', '169.254.0.1/32')], ['nsm-c2', veth('nsm-c2', 'nsm:c2', '169.254.0.8/32', '169.254.0.9/32')]]) },
  };
  const dumped: string[] = [];
  const ledger = new LinkLedger(file);
  assert.equal(ledger.orphanCount, 2);
  const calls: string[] = [];
  const dp = ledger.track(recordingDataplane(calls), async (ns) => (dumped.push(ns), kernelNow[ns]!));
  const p = (id: string) => ({ dp, connId: id, alias: `nsm:${id}`, service: 's', underlayIp: '198.18.0.1' });

  const links = await kernel.crossConnect(p('c1'), side('cl', 'nsm-1', '169.254.0.1/32', '169.254.0.0/32'), side('ep', 'nsm-c1', '169.254.0.0/32', '169.254.0.1/32'));
  assert.deepEqual(links, [{ netns: 'cl', name: 'nsm-1' }]);
  assert.equal(calls.length, 0, `kept without a kernel command (${calls.join(', ')})`);
  assert.equal(ledger.orphanCount, 1, 'claimed: the sweep leaves it');
  assert.equal(ledger.claimedCount, 1);

  await kernel.crossConnect(p('c2'), side('cl', 'nsm-2', '169.254.0.3/32', '169.254.0.2/32'), side('ep', 'nsm-c2', '169.254.0.2/32', '169.254.0.3/32'));
  assert.deepEqual(calls.slice(0, 3), ['deleteLink cl/nsm-2', 'deleteLink ep/nsm-c2', 'createVeth cl/nsm-2'], 'other addresses: deleted and built anew');
  assert.ok(calls.includes('addAddress cl/nsm-2 169.254.0.3/32'));
  assert.equal(ledger.orphanCount, 0);

  // A link of this life (c1 again, e.g. a refresh in a new chain state) never answers from the dump.
  calls.length = 0;
  await kernel.crossConnect(p('c1'), side('cl', 'nsm-1', '169.254.0.1/32', '169.254.0.0/32'), side('ep', 'nsm-c1', '169.254.0.0/32', '169.254.0.1/32'));
  assert.equal(calls[0], 'createVeth cl/nsm-1');
  assert.deepEqual([...new Set(dumped)].sort(), ['cl', 'ep']);
});
