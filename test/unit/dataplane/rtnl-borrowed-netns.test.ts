// A request that creates a link in another namespace carries that namespace's socket file (IFLA_NET_NS_FD) while
// it goes out on a different socket. The idle sweep must not close that file before the kernel has read it: closed,
// the request fails with EBADF, or, once the number is reused by another namespace's file, the link is made in the
// wrong namespace (at scale: "VNI already exists", then "interface already exists ... used by something outside").
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { createNamedNetns, deleteNamedNetns } from '../../../src/dataplane/netns.js';
import { RtnlDriver } from '../../../src/dataplane/rtnl-driver.js';
import { libc } from '../../../src/sys/libc.js';

const root = process.getuid?.() === 0;
const has = (ns: string, link: string) => new RegExp(`^\\d+: ${link}[@:]`, 'm').test(execFileSync('ip', ['-n', ns, '-o', 'link', 'show'], { encoding: 'utf8' }));

describe('rtnetlink: a namespace file lent to a request on another socket', { skip: !root && 'needs root' }, () => {
  it('stays open while the request waits for a worker thread, though the socket is idle', async () => {
    const [u, t] = [`u${process.pid}bu`, `u${process.pid}bt`];
    await createNamedNetns(u);
    await createNamedNetns(t);
    const rt = RtnlDriver.tryCreate({ idleMs: 1 });
    assert.ok(rt, 'rtnetlink available');
    // Worker sends start late (a busy pool): the idle sweep (every 250 ms) runs meanwhile.
    const sys = libc();
    const sendAsync = sys.sendAsync;
    sys.sendAsync = (...a) => void setTimeout(() => sendAsync(...a), 700);
    try {
      const v = { name: 'vx-lent', vni: 4_000_000 + (process.pid % 100_000), local: '198.18.200.1', port: 4789 };
      await rt.createVxlan({ kind: 'named', name: u }, undefined, { kind: 'named', name: t }, undefined, v, true);
      assert.ok(has(t, 'vx-lent'), 'the link is in its target namespace');
      assert.ok(!has(u, 'vx-lent'));
      // A veth pair goes out on the host socket with both ends' files (idle by now again).
      await new Promise((r) => setTimeout(r, 300));
      await rt.createVeth({ kind: 'named', name: u }, undefined, 've-a', { kind: 'named', name: t }, undefined, 've-b', undefined, true);
      assert.ok(has(u, 've-a') && has(t, 've-b'), 'each end in its namespace');
    } finally {
      sys.sendAsync = sendAsync;
      rt.closeAll();
      await deleteNamedNetns(t);
      await deleteNamedNetns(u);
    }
  });
});
