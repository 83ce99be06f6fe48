// Unit: links made by the KERNEL and VXLAN mechanisms come up without the kernel's IPv6 link-local address
// when the data plane can add it later (addLinkLocal), and configure() adds it to exactly the sides that
// carry IPv6; a data plane without addLinkLocal gets neither (the kernel keeps making its own).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configure, hasIPv6, linkLocalOnDemand } from '../../../src/dataplane/mechanisms/common/links.js';
import type { ForwarderDataplane } from '../../../src/sdk/tools/forwarder-dataplane.js';
import type { Side } from '../../../src/sdk/tools/mechanism-module.js';

function fakeDp(withLinkLocal: boolean): ForwarderDataplane & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    createVeth: async () => {},
    createVxlan: async () => {},
    addAddress: async (netns, ifname, cidr) => void calls.push(`addr ${netns} ${ifname} ${cidr}`),
    addRoute: async (netns, r) => void calls.push(`route ${netns} ${r.prefix}${r.via ? ` via ${r.via}` : ''}`),
    deleteLink: async () => true,
    ...(withLinkLocal ? { addLinkLocal: async (netns: string, name: string) => void calls.push(`ll ${netns} ${name}`) } : {}),
  };
}

const side = (addrs: string[], routes: Side['routes'] = []): Side => ({ netns: 'ns1', name: 'nsm-1', addrs, routes });

test('hasIPv6: an IPv6 address, route prefix or next hop', () => {
  assert.equal(hasIPv6(side(['169.254.0.1/32'], [{ prefix: '169.254.0.2/32', nextHop: '' }])), false);
  assert.equal(hasIPv6(side([])), false);
  assert.equal(hasIPv6(side(['2001:db8::1/128'])), true);
  assert.equal(hasIPv6(side([], [{ prefix: '2001:db8::/64', nextHop: '' }])), true);
  assert.equal(hasIPv6(side([], [{ prefix: '::/0', nextHop: '' }])), true);
  assert.equal(hasIPv6(side(['169.254.0.1/32'], [{ prefix: '0.0.0.0/0', nextHop: '169.254.0.2' }])), false);
});

test('linkLocalOnDemand asks for no kernel link-local only where the data plane can add it back', () => {
  assert.deepEqual(linkLocalOnDemand(fakeDp(true)), { noLinkLocal: true });
  assert.deepEqual(linkLocalOnDemand(fakeDp(false)), {});
});

test('configure adds the link-local address to a side with IPv6, not to an IPv4-only one', async () => {
  const dp = fakeDp(true);
  await configure(dp, side(['169.254.0.1/32'], [{ prefix: '169.254.0.2/32', nextHop: '' }]));
  assert.deepEqual(dp.calls, ['addr ns1 nsm-1 169.254.0.1/32', 'route ns1 169.254.0.2/32']);
  dp.calls.length = 0;
  await configure(dp, side(['169.254.0.1/32', '2001:db8::1/128'], [{ prefix: '2001:db8::/64', nextHop: 'fe80::1' }]));
  assert.equal(dp.calls[0], 'll ns1 nsm-1', 'first, with the addresses');
  assert.deepEqual(dp.calls.slice(1), ['addr ns1 nsm-1 169.254.0.1/32', 'addr ns1 nsm-1 2001:db8::1/128', 'route ns1 2001:db8::/64 via fe80::1']);
});

test('configure without addLinkLocal: addresses and routes as before', async () => {
  const dp = fakeDp(false);
  await configure(dp, side(['2001:db8::1/128']));
  assert.deepEqual(dp.calls, ['addr ns1 nsm-1 2001:db8::1/128']);
});
