// Several rtnetlink requests in one send(2) (RtnlSocket.requestAll): the kernel runs them in order, each gets its own
// answer, a failed one does not stop the ones after it. RtnlDriver.aliasUp sends its steps that way (addrgenmode,
// alias and up), then looks the link's index up for the addresses and routes that follow.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { createNamedNetns, deleteNamedNetns, netnsPath } from '../../../src/dataplane/netns.js';
import { RtnlDriver } from '../../../src/dataplane/rtnl-driver.js';
import { RTM, getLink, linkIndexOf } from '../../../src/dataplane/rtnl-msg.js';
import { RtnlErrno, openRtnlSocket } from '../../../src/dataplane/rtnl-socket.js';

const root = process.getuid?.() === 0;
const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });

describe('rtnetlink: requests in one send', { skip: !root && 'needs root' }, () => {
  it('each request of a batch gets its own answer, in order; a failed one does not stop the next', async () => {
    const ns = `u${process.pid}rb`;
    await createNamedNetns(ns);
    const s = openRtnlSocket(netnsPath({ kind: 'named', name: ns }));
    try {
      for (const lane of ['inline', 'ahead'] as const) {
        const [missing, lo] = s.requestAll(
          [
            { type: RTM.GETLINK, flags: 0, body: getLink('nsm-none') },
            { type: RTM.GETLINK, flags: 0, body: getLink('lo') },
          ],
          lane,
        );
        await assert.rejects(missing!, (err: unknown) => err instanceof RtnlErrno && err.code === 'ENODEV');
        const replies = await lo!;
        assert.equal(linkIndexOf(replies[0]!), 1, `${lane}: lo is link 1 of a fresh namespace`);
      }
      assert.equal(s.busy, false, 'every answer matched its request');
    } finally {
      s.close();
      await deleteNamedNetns(ns);
    }
  });

  it('a veth made ahead is tagged, up and without a kernel link-local address on both ends; its indexes are remembered', async () => {
    const [a, b] = [`u${process.pid}ra`, `u${process.pid}rz`];
    await createNamedNetns(a);
    await createNamedNetns(b);
    const rt = RtnlDriver.tryCreate();
    assert.ok(rt, 'rtnetlink available');
    try {
      const [na, nb] = [{ kind: 'named', name: a } as const, { kind: 'named', name: b } as const];
      await rt.createVeth(na, undefined, 'nsm-a', nb, undefined, 'nsm-b', undefined, true);
      await rt.aliasUp(na, undefined, 'nsm-a', 'nsm:t1', { background: true, noLinkLocal: true });
      await rt.aliasUp(nb, undefined, 'nsm-b', 'nsm:t1', { background: true, noLinkLocal: true });
      for (const [ns, name] of [[a, 'nsm-a'], [b, 'nsm-b']] as const) {
        const link = JSON.parse(ip('-n', ns, '-j', '-d', 'link', 'show', 'dev', name)) as { ifindex: number; ifalias?: string; flags: string[]; inet6_addr_gen_mode?: string }[];
        assert.equal(link[0]!.ifalias, 'nsm:t1');
        assert.ok(link[0]!.flags.includes('UP'), `${name} is up`);
        assert.equal(link[0]!.inet6_addr_gen_mode, 'none');
        assert.equal(ip('-n', ns, '-6', '-o', 'addr', 'show', 'dev', name).trim(), '', `${name} has no IPv6 address`);
        // The address goes on the remembered index: the right link, no lookup needed.
        await rt.addAddress(ns === a ? na : nb, undefined, name, ns === a ? '169.254.77.1' : '169.254.77.2', 32, false);
        assert.match(ip('-n', ns, '-o', 'addr', 'show', 'dev', name), ns === a ? /169\.254\.77\.1\/32/ : /169\.254\.77\.2\/32/);
      }
    } finally {
      rt.closeAll();
      await deleteNamedNetns(a);
      await deleteNamedNetns(b);
    }
  });
});
