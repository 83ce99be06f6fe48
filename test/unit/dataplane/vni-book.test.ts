// The VXLAN module's book of VNIs in use (mechanisms/vxlan/vni-book.ts): fresh picks skip VNIs in use in the
// same underlay, another underlay is another domain, releases free them, and an offer's VNI is "taken" only by
// another connection.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { vxlan } from '../../../src/dataplane/mechanisms/vxlan/index.js';
import { VniBook } from '../../../src/dataplane/mechanisms/vxlan/vni-book.js';
import { ANCHOR_VNI } from '../../../src/dataplane/vxlan-anchor.js';
import { P, vxlanMechanism } from '../../../src/sdk/tools/mechanisms.js';

/** A picker that returns the given numbers in turn. */
const picks = (...xs: number[]) => {
  let i = 0;
  return () => xs[i++ % xs.length]!;
};

describe('VniBook', () => {
  it('a fresh VNI skips those other connections use in the same underlay, not in another', () => {
    const book = new VniBook(picks(7, 7, 9));
    assert.equal(book.fresh('198.18.0.1', 'a'), 7);
    assert.equal(book.fresh('198.18.0.1', 'b'), 9, '7 is in use there');
    assert.equal(new VniBook(picks(7)).fresh('198.18.0.1', 'c'), 7);
    const shared = new VniBook(picks(7));
    shared.use('198.18.0.1', 'a', 7);
    assert.equal(shared.fresh('198.18.0.2', 'x'), 7, 'another underlay is another domain');
  });

  it('an offered VNI is taken only by another connection; a release frees it', () => {
    const book = new VniBook(picks(11));
    book.use('u', 'a', 5);
    assert.equal(book.takenByOther('u', 5, 'a'), false, 'its own');
    assert.equal(book.takenByOther('u', 5, 'b'), true);
    assert.equal(book.takenByOther('v', 5, 'b'), false);
    book.release('a');
    assert.equal(book.takenByOther('u', 5, 'b'), false);
    assert.equal(book.size, 0);
  });

  it('a connection that moves to another VNI frees the old one', () => {
    const book = new VniBook();
    book.use('u', 'a', 5);
    book.use('u', 'a', 6);
    assert.equal(book.takenByOther('u', 5, 'b'), false);
    assert.equal(book.takenByOther('u', 6, 'b'), true);
    assert.equal(book.size, 1);
  });

  it('the VXLAN module answers an offer whose VNI another connection of this forwarder uses with another VNI', () => {
    const env = { underlayIp: '198.18.77.2' };
    const offer = vxlanMechanism({ [P.srcIp]: '198.18.77.1', [P.vni]: '4242' });
    assert.equal(vxlan.accept(offer, env, 'conn-a').parameters[P.vni], '4242');
    assert.equal(vxlan.accept(offer, env, 'conn-a').parameters[P.vni], '4242', 'a refresh keeps its own');
    const other = vxlan.accept(offer, env, 'conn-b').parameters[P.vni];
    assert.notEqual(other, '4242');
    void vxlan.release!('conn-a', undefined as never);
    assert.equal(vxlan.accept(offer, env, 'conn-c').parameters[P.vni], '4242', 'free again after its Close');
    void vxlan.release!('conn-b', undefined as never);
    void vxlan.release!('conn-c', undefined as never);
  });
});

describe('VniBook and the VXLAN anchor', () => {
  it('never picks the anchor VNI and answers an offer of it with another', () => {
    const book = new VniBook(picks(ANCHOR_VNI, 12));
    assert.equal(book.fresh('u', 'a'), 12);
    assert.equal(book.takenByOther('u', ANCHOR_VNI, 'b'), true);
    assert.equal(new VniBook().fresh('u', 'x') < ANCHOR_VNI, true);
  });
});
