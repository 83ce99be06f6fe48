// netns-dump and dump-cache: the restarted forwarder's one-dump-per-namespace view (interfaces with
// addresses, routes and IPv6 proxy entries, parsed from `ip -j`), shared by concurrent callers and
// reused only for its maximum age; a failed dump is not kept.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DumpCache } from '../../../src/dataplane/dump-cache.js';
import { parseDump, withLength, type NetnsDump } from '../../../src/dataplane/netns-dump.js';

const MARK = '--nsm-dump--';
const links = [
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK'], addr_info: [] },
  {
    ifindex: 2,
    ifname: 'nsm-1',
    flags: ['BROADCAST', 'UP'],
    ifalias: 'nsm:c1',
    linkinfo: { info_kind: 'veth' },
    addr_info: [
      { family: 'inet', local: '169.254.9.1', prefixlen: 32, scope: 'global' },
      { family: 'inet6', local: '2001:db8::1', prefixlen: 128, scope: 'global' },
      { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
    ],
  },
  { ifindex: 3, ifname: 'vx-1', flags: ['UP'], ifalias: 'nsm:c2', linkinfo: { info_kind: 'vxlan', info_data: { id: 77, remote: '198.18.0.2' } }, addr_info: [] },
];
const out = [
  JSON.stringify(links),
  JSON.stringify([{ dst: '169.254.9.2', dev: 'nsm-1', scope: 'link' }, { dst: '169.254.10.0/24', gateway: '169.254.9.2', dev: 'nsm-1' }]),
  '', // no IPv6 routes: `ip -j` may print nothing at all
  JSON.stringify([{ dst: '2001:db8::1', dev: 'nsm-1', flags: ['proxy'] }]),
].join(`\n${MARK}\n`);

test('parseDump: links with alias, kind, VXLAN VNI/remote, addresses (no link-local), routes with lengths, proxies', () => {
  const d = parseDump(out);
  assert.deepEqual(d.links.get('nsm-1'), {
    name: 'nsm-1',
    up: true,
    alias: 'nsm:c1',
    kind: 'veth',
    addrs: ['169.254.9.1/32', '2001:db8::1/128'],
    routes: [{ prefix: '169.254.9.2/32' }, { prefix: '169.254.10.0/24', via: '169.254.9.2' }],
    proxies: ['2001:db8::1'],
  });
  assert.equal(d.links.get('vx-1')?.vni, 77);
  assert.equal(d.links.get('vx-1')?.remote, '198.18.0.2');
  assert.equal(d.links.get('lo')?.up, false);
  assert.equal(withLength('2001:db8::2'), '2001:db8::2/128');
  assert.equal(withLength('default'), 'default');
});

test('DumpCache: one dump per namespace for concurrent callers, reused until it is too old; failures are not kept', async () => {
  let now = 0;
  const calls: string[] = [];
  let fail = false;
  const cache = new DumpCache(
    async (ns) => {
      calls.push(ns);
      if (fail) throw new Error('gone');
      return { links: new Map() } satisfies NetnsDump;
    },
    1000,
    () => now,
  );
  await Promise.all([cache.get('a'), cache.get('a'), cache.get('b')]);
  assert.deepEqual(calls, ['a', 'b']);
  now = 999;
  await cache.get('a');
  assert.deepEqual(calls, ['a', 'b']);
  now = 1000;
  fail = true;
  await assert.rejects(cache.get('a'));
  fail = false;
  await cache.get('a');
  assert.deepEqual(calls, ['a', 'b', 'a', 'a']);
});
