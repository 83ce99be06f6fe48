// VXLAN anchors (dataplane/vxlan-anchor.ts) against a recording fake of the rtnetlink driver: one anchor per
// underlay namespace, address family and port, made once (in the private namespace, with the reserved VNI, up);
// a failure is logged, never thrown; after close nothing more is made.
import assert from 'node:assert/strict';
import { openSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ANCHOR_VNI, VxlanAnchors } from '../../../src/dataplane/vxlan-anchor.js';
import type { RtnlDriver } from '../../../src/dataplane/rtnl-driver.js';
import type { NetnsRef } from '../../../src/dataplane/netns.js';

function fakeRtnl(fail: false | string = false) {
  const calls: string[] = [];
  const rtnl = {
    createVxlan: async (ns: NetnsRef, _id: string | undefined, target: NetnsRef, _t: unknown, v: { name: string; vni: number; local: string; port: number }) => {
      calls.push(`create ${ns.kind === 'named' ? ns.name : ns.kind} -> ${target.kind} ${v.name} vni ${v.vni} ${v.local}:${v.port}`);
      if (fail) throw new Error(fail);
    },
    aliasUp: async (_t: NetnsRef, _id: unknown, name: string, alias: string) => void calls.push(`up ${name} ${alias}`),
    closeFor: () => void calls.push('closeFor'),
  };
  return { rtnl: rtnl as unknown as RtnlDriver, calls };
}
// Any open file stands in for the private namespace.
const openNetns = () => openSync('/dev/null', 'r');

describe('VxlanAnchors', () => {
  it('makes one anchor per underlay, family and port, once', async () => {
    const { rtnl, calls } = fakeRtnl();
    const a = new VxlanAnchors(rtnl, undefined, openNetns);
    const n1: NetnsRef = { kind: 'named', name: 'n1' };
    await Promise.all([a.ensure(n1, 'i1', '198.18.0.1', 4789), a.ensure(n1, 'i1', '198.18.0.1', 4789)]);
    await a.ensure(n1, 'i1', '198.18.0.9', 4789); // same family: the same socket
    await a.ensure(n1, 'i1', '2001:db8::1', 4789);
    await a.ensure(n1, 'i1', '198.18.0.1', 4790);
    await a.ensure(n1, 'i2', '198.18.0.1', 4789); // the namespace was made anew under its name
    const creates = calls.filter((c) => c.startsWith('create'));
    assert.equal(creates.length, 4, calls.join('\n'));
    assert.ok(creates.every((c) => c.includes(`vni ${ANCHOR_VNI}`) && c.includes('-> path')));
    assert.equal(calls.filter((c) => c.startsWith('up') && c.endsWith('nsm-vxlan-anchor')).length, 4);
    a.close();
  });

  it('a failure is logged, not thrown; after close nothing is made', async () => {
    const { rtnl, calls } = fakeRtnl('setns into /proc/1/fd/9 failed');
    const warned: string[] = [];
    const log = { warn: (_o: object, m: string) => void warned.push(m), debug: () => undefined };
    const a = new VxlanAnchors(rtnl, log as never, openNetns);
    await a.ensure({ kind: 'host' }, undefined, '198.18.0.1', 4789);
    assert.equal(warned.length, 1);
    a.close();
    await a.ensure({ kind: 'named', name: 'other' }, undefined, '198.18.0.1', 4789);
    assert.equal(calls.filter((c) => c.startsWith('create')).length, 1);
  });

  it('the VNI taken there (another anchor holds the socket) is no warning', async () => {
    const { rtnl } = fakeRtnl('link add nsm-anchor0 type vxlan id 16777215: File exists');
    const warned: string[] = [];
    const a = new VxlanAnchors(rtnl, { warn: (_o: object, m: string) => void warned.push(m), debug: () => undefined } as never, openNetns);
    await a.ensure({ kind: 'host' }, undefined, '198.18.0.1', 4789);
    assert.deepEqual(warned, []);
    a.close();
  });
});
