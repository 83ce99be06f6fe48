import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ForwarderDataplane } from '../../../src/sdk/tools/forwarder-dataplane.js';
import { PendingRemovals } from '../../../src/sdk/tools/pending-removals.js';

function fakeDp(events: string[]): ForwarderDataplane {
  return {
    createVeth: async (s) => void events.push(`create ${s.netns}/${s.name}`),
    createVxlan: async (s) => void events.push(`vxlan ${s.targetNetns}/${s.name}`),
    addAddress: async () => undefined,
    addRoute: async () => undefined,
    deleteLink: async (ns, name) => (events.push(`del ${ns}/${name}`), true),
  };
}

describe('pending removals', () => {
  it('a link of the same name is created only after its pending removal finished', async () => {
    const events: string[] = [];
    const r = new PendingRemovals();
    const dp = r.guard(fakeDp(events));
    let finish!: () => void;
    r.track([{ netns: 'c', name: 'nsm-0' }], new Promise<void>((res) => (finish = res)).then(() => void events.push('removed c/nsm-0')));
    const other = dp.createVeth({ name: 'nsm-1', netns: 'c', peerName: 'p1', peerNetns: 'e', alias: 'x' });
    const same = dp.createVeth({ name: 'nsm-0', netns: 'c', peerName: 'p0', peerNetns: 'e', alias: 'x' });
    await other;
    assert.deepEqual(events, ['create c/nsm-1']);
    finish();
    await same;
    assert.deepEqual(events, ['create c/nsm-1', 'removed c/nsm-0', 'create c/nsm-0']);
    assert.equal(r.size, 0);
  });

  it('a failed removal does not block, and other methods are the data plane own', async () => {
    const events: string[] = [];
    const r = new PendingRemovals();
    const dp = r.guard(fakeDp(events));
    r.track([{ netns: 'e', name: 'p0' }], Promise.reject(new Error('gone')));
    await dp.createVeth({ name: 'nsm-0', netns: 'c', peerName: 'p0', peerNetns: 'e', alias: 'x' });
    assert.equal(await dp.deleteLink('c', 'nsm-0'), true);
    assert.deepEqual(events, ['create c/nsm-0', 'del c/nsm-0']);
  });

  it('with no removal pending for its names, a link goes to the data plane within the call (no promise step first)', async () => {
    const events: string[] = [];
    const r = new PendingRemovals();
    const dp = r.guard(fakeDp(events));
    r.track([{ netns: 'c', name: 'nsm-9' }], new Promise<void>(() => undefined));
    const veth = dp.createVeth({ name: 'nsm-0', netns: 'c', peerName: 'p0', peerNetns: 'e', alias: 'x' });
    const vxlan = dp.createVxlan({ name: 'vx-0', netns: 'h', targetNetns: 'e', vni: 1, local: '198.18.0.1', alias: 'y' });
    assert.deepEqual(events, ['create c/nsm-0', 'vxlan e/vx-0']);
    await Promise.all([veth, vxlan]);
  });
});

