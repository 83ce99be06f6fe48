// echo-liveness (the client's data-path check) with a fake prober: which namespace and address a
// connection is checked with, reply/no-reply/unusable tool as alive/dead/cannot check, and sockets
// of a namespace forgotten when its last connection is released.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection } from '../../../src/api/index.js';
import { echoLiveness } from '../../../src/dataplane/echo-liveness.js';
import { ToolUnavailableError, type EchoProber, type EchoResult } from '../../../src/dataplane/icmp-prober.js';
import { livenessTarget } from '../../../src/sdk/tools/liveness.js';
import { kernelMechanism, P } from '../../../src/sdk/tools/mechanisms.js';

const conn = (id: string, inodeURL: string | undefined, dst?: string) =>
  Connection.fromPartial({
    id,
    ...(inodeURL === undefined ? {} : { mechanism: kernelMechanism({ [P.name]: 'nsm-1', [P.inodeURL]: inodeURL }) }),
    context: { ipContext: { dstIpAddrs: dst ? [dst] : [] } },
  });

function fakeProber(answer: () => Promise<EchoResult>) {
  const f = {
    echoes: [] as [string, string, number | undefined][],
    forgotten: [] as string[],
    closed: 0,
    echo: (path: string, dst: string, ms?: number): Promise<EchoResult> => (f.echoes.push([path, dst, ms]), answer()),
    forget: (path: string) => void f.forgotten.push(path),
    close: () => void f.closed++,
  };
  const typed: EchoProber = f;
  void typed;
  return f;
}

describe('echo-liveness', () => {
  it('livenessTarget: the client namespace URL and the first dst address without its prefix', () => {
    assert.deepEqual(livenessTarget(conn('c', 'file:///var/run/netns/nsc-1', '169.254.1.0/32')), { netnsUrl: 'file:///var/run/netns/nsc-1', dst: '169.254.1.0' });
    assert.deepEqual(livenessTarget(conn('c', 'inode://4/4026532000', '2001:db8::1/128')), { netnsUrl: 'inode://4/4026532000', dst: '2001:db8::1' });
    assert.equal(livenessTarget(conn('c', undefined, '169.254.1.0/32')), undefined);
    assert.equal(livenessTarget(conn('c', 'file:///var/run/netns/x')), undefined);
  });

  it('reply is alive, no reply is dead; checked from the namespace file with the wait given', async () => {
    let answer: EchoResult = 'reply';
    const prober = fakeProber(async () => answer);
    const live = echoLiveness({ prober, waitMs: 300 });
    assert.equal(await live.check(conn('c1', 'file:///var/run/netns/nsc-1', '169.254.1.0/32')), 'alive');
    answer = 'no-reply';
    assert.equal(await live.check(conn('c1', 'file:///proc/77/ns/net', '2001:db8::1/128')), 'dead');
    assert.deepEqual(prober.echoes, [['/var/run/netns/nsc-1', '169.254.1.0', 300], ['/proc/77/ns/net', '2001:db8::1', 300]]);
    assert.deepEqual(prober.forgotten, ['/var/run/netns/nsc-1'], 'the connection moved: its old namespace has no user left');
  });

  it('an unusable tool or a connection without target is "cannot check"; a namespace that is gone is dead', async () => {
    const live = echoLiveness({ prober: fakeProber(async () => Promise.reject(new ToolUnavailableError('no koffi here'))) });
    assert.deepEqual(await live.check(conn('c', 'file:///var/run/netns/x', '169.254.1.0/32')), { cannotCheck: 'no koffi here' });
    assert.ok(typeof (await live.check(conn('c', undefined, '169.254.1.0/32'))) === 'object');
    assert.equal(await live.check(conn('c', 'inode://1/1', '169.254.1.0/32')), 'dead');
    assert.match(JSON.stringify(await live.check(conn('c', 'bad://x', '169.254.1.0/32'))), /cannotCheck.*unsupported URL scheme/);
  });

  it('a namespace\'s sockets are forgotten when its last connection is released; close closes the prober', async () => {
    const prober = fakeProber(async () => 'reply');
    const live = echoLiveness({ prober });
    await live.check(conn('a', 'file:///var/run/netns/n1', '169.254.1.0/32'));
    await live.check(conn('b', 'file:///var/run/netns/n1', '169.254.2.0/32'));
    await live.check(conn('c', 'file:///var/run/netns/n2', '169.254.3.0/32'));
    live.release!('a');
    assert.deepEqual(prober.forgotten, []);
    live.release!('b');
    live.release!('b');
    assert.deepEqual(prober.forgotten, ['/var/run/netns/n1']);
    live.close();
    assert.equal(prober.closed, 1);
  });

  it('a connection checked from another namespace leaves its first one (counted once per connection)', async () => {
    const prober = fakeProber(async () => 'reply');
    const live = echoLiveness({ prober });
    await live.check(conn('a', 'file:///var/run/netns/n1', '169.254.1.0/32'));
    await live.check(conn('a', 'file:///var/run/netns/n1', '169.254.1.0/32'));
    await live.check(conn('b', 'file:///var/run/netns/n1', '169.254.2.0/32'));
    await live.check(conn('a', 'file:///var/run/netns/n2', '169.254.1.0/32'));
    assert.deepEqual(prober.forgotten, []);
    live.release!('b');
    assert.deepEqual(prober.forgotten, ['/var/run/netns/n1']);
    live.release!('a');
    assert.deepEqual(prober.forgotten, ['/var/run/netns/n1', '/var/run/netns/n2']);
  });
});
