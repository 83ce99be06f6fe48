// E2E: the in-process ICMP prober and the client's liveness check through a real veth between two
// namespaces: replies over IPv4 and IPv6, no reply once the peer's address is removed or the link is
// down, and every socket closed afterwards (no fd leak). No ping binary involved.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { before, test } from 'node:test';
import { Connection } from '../../../src/api/index.js';
import { echoLiveness } from '../../../src/dataplane/echo-liveness.js';
import { IcmpProber } from '../../../src/dataplane/icmp-prober.js';
import { inodeUrlOf } from '../../../src/dataplane/netns.js';
import { kernelMechanism, P } from '../../../src/sdk/tools/mechanisms.js';
import { createTestNetns, sweepStaleTestNetns } from '../helpers/netns.js';

const root = process.getuid?.() === 0;
const ip = (ns: string, ...args: string[]) => execFileSync('ip', ['-n', ns, ...args], { stdio: 'pipe' });
const fds = () => readdirSync('/proc/self/fd').length;

before(async () => {
  if (root) await sweepStaleTestNetns();
});

/** Client namespace c and endpoint namespace e joined by a veth, with 169.254.0.1/2 and 2001:db8::1/2. */
async function pair(t: Parameters<typeof createTestNetns>[0]) {
  const [c, e] = await createTestNetns(t, 'pc', 'pe');
  execFileSync('ip', ['link', 'add', 'pv-c', 'netns', c, 'type', 'veth', 'peer', 'name', 'pv-e', 'netns', e]);
  for (const [ns, dev, v4, v6] of [[c, 'pv-c', '169.254.0.1/30', '2001:db8::1/64'], [e, 'pv-e', '169.254.0.2/30', '2001:db8::2/64']] as const) {
    ip(ns, 'addr', 'add', v4, 'dev', dev);
    ip(ns, 'addr', 'add', v6, 'dev', dev, 'nodad');
    ip(ns, 'link', 'set', dev, 'up');
  }
  // The kernel adds the IPv6 prefix routes a moment after the link is up (until then: no route).
  for (let i = 0; i < 100; i++) {
    if ([c, e].every((ns) => ip(ns, '-6', 'route', 'show', '2001:db8::/64').toString().includes('pv-'))) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { c: c, e: e, cPath: `/var/run/netns/${c}` };
}

test('prober: replies through a veth over IPv4 and IPv6; none once the address is gone or the link is down', { skip: !root && 'needs root' }, async (t) => {
  const { c, e, cPath } = await pair(t);
  const before = fds();
  const prober = new IcmpProber();
  assert.equal(await prober.echo(cPath, '169.254.0.2/32'), 'reply');
  assert.equal(await prober.echo(cPath, '2001:db8::2/128'), 'reply');
  const many = await Promise.all(Array.from({ length: 20 }, () => prober.echo(cPath, '169.254.0.2')));
  assert.deepEqual(new Set(many), new Set(['reply']), '20 checks in flight at once on one shared socket');
  assert.equal(prober.openSockets, 2, 'one socket per family for the namespace');
  assert.equal(await prober.echo(cPath, '169.254.0.3', 300), 'no-reply', 'nobody has that address');

  ip(e, 'addr', 'del', '169.254.0.2/30', 'dev', 'pv-e');
  assert.equal(await prober.echo(cPath, '169.254.0.2', 300), 'no-reply', 'the peer address removed');
  assert.equal(await prober.echo(cPath, '2001:db8::2', 1000), 'reply', 'IPv6 still works');
  ip(c, 'link', 'set', 'pv-c', 'down');
  assert.equal(await prober.echo(cPath, '2001:db8::2', 300), 'no-reply', 'link down');
  ip(e, 'addr', 'add', '169.254.0.2/30', 'dev', 'pv-e');
  prober.forget(cPath);
  assert.equal(prober.openSockets, 0);
  prober.close();
  assert.equal(fds(), before, 'no fd left open');
});

test('echoLiveness: a connection whose client is in a namespace is alive, dead when its link is down; released on close', { skip: !root && 'needs root' }, async (t) => {
  const { c } = await pair(t);
  const url = await inodeUrlOf(c); // upstream's inode:// form, as clients send it
  const conn = (id: string, dst: string) =>
    Connection.fromPartial({ id, mechanism: kernelMechanism({ [P.name]: 'pv-c', [P.inodeURL]: url }), context: { ipContext: { dstIpAddrs: [dst] } } });
  const before = fds();
  const prober = new IcmpProber();
  const live = echoLiveness({ prober, waitMs: 300 });
  assert.equal(await live.check(conn('a', '169.254.0.2/32')), 'alive');
  assert.equal(await live.check(conn('b', '2001:db8::2/128')), 'alive');
  ip(c, 'link', 'set', 'pv-c', 'down');
  assert.equal(await live.check(conn('a', '169.254.0.2/32')), 'dead');
  assert.equal(await live.check(conn('b', '2001:db8::2/128')), 'dead');
  live.release!('a');
  live.release!('b');
  assert.equal(prober.openSockets, 0, 'the namespace\'s sockets closed with its last connection');
  live.close();
  assert.equal(fds(), before, 'no fd left open');
});
