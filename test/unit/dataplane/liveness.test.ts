// liveness: which namespace a connection's client side is in, and a real ping
// check from there (root only: a namespace with loopback up stands in for the path).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { Connection } from '../../../src/api/index.js';
import { kernelMechanism, P } from '../../../src/sdk/tools/mechanisms.js';
import { clientNetnsPath, pingCheck } from '../../../src/dataplane/liveness.js';

const conn = (inodeURL: string | undefined, dst?: string) =>
  Connection.fromPartial({
    id: 'c',
    ...(inodeURL === undefined ? {} : { mechanism: kernelMechanism({ [P.name]: 'nsm-1', [P.inodeURL]: inodeURL }) }),
    context: { ipContext: { dstIpAddrs: dst ? [dst] : [] } },
  });

describe('liveness', () => {
  it('clientNetnsPath: named and path namespaces; not inode URLs or no mechanism', () => {
    assert.equal(clientNetnsPath(conn('file:///var/run/netns/nsc-1')), '/var/run/netns/nsc-1');
    assert.equal(clientNetnsPath(conn('file:///proc/123/ns/net')), '/proc/123/ns/net');
    assert.equal(clientNetnsPath(conn('inode://4/4026532000')), undefined);
    assert.equal(clientNetnsPath(conn(undefined)), undefined);
    assert.equal(clientNetnsPath(conn('not a url')), undefined);
  });

  it('a connection that cannot be checked counts as alive (no dst, or no namespace to enter)', async () => {
    const check = pingCheck({ waitMs: 200 });
    assert.equal(await check(conn('file:///var/run/netns/x')), true, 'no dst');
    assert.equal(await check(conn(undefined, '169.254.9.1/32')), true, 'no namespace');
  });

  it('pings the dst from the client namespace: a reply is alive, none is dead', { skip: process.getuid?.() !== 0 && 'needs root' }, async (t) => {
    const ns = `tl${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    t.after(() => execFileSync('ip', ['netns', 'del', ns]));
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    execFileSync('ip', ['-n', ns, 'addr', 'add', '169.254.9.1/32', 'dev', 'lo']);
    const check = pingCheck({ waitMs: 200 });
    assert.equal(await check(conn(`file:///var/run/netns/${ns}`, '169.254.9.1/32')), true);
    const t0 = performance.now();
    assert.equal(await check(conn(`file:///var/run/netns/${ns}`, '169.254.9.2/32')), false, 'no route: no reply');
    assert.ok(performance.now() - t0 < 1500, 'bounded by the wait');
    assert.equal(await check(conn('file:///var/run/netns/no-such-ns-x', '169.254.9.1/32')), false, 'a namespace that is gone is not alive');
  });
});
