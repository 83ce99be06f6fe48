// tools/chain-links: an endpoint is a chain link once a Request from a client of its name arrives while a Request
// to it is pending here; nothing else marks it; the set is bounded (oldest forgotten first).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChainLinks } from '../../../src/sdk/tools/chain-links.js';

describe('ChainLinks', () => {
  it('marks an endpoint whose name starts a Request that arrives while its own Request is pending', () => {
    const l = new ChainLinks();
    const answered = l.pendingAt('fw-1');
    l.arrived('nsc');
    assert.equal(l.isLink('fw-1'), false, 'another client is no evidence');
    l.arrived('fw-1');
    answered();
    assert.equal(l.isLink('fw-1'), true);
    assert.equal(l.isLink('nse-1'), false);
  });

  it('does not mark an endpoint whose Requests were all answered before (its own Requests as a client are not nested)', () => {
    const l = new ChainLinks();
    const answered = l.pendingAt('nse-1');
    answered();
    answered(); // idempotent
    l.arrived('nse-1');
    assert.equal(l.isLink('nse-1'), false);
  });

  it('counts overlapping pending Requests to the same endpoint', () => {
    const l = new ChainLinks();
    const a = l.pendingAt('fw-1');
    const b = l.pendingAt('fw-1');
    a();
    l.arrived('fw-1');
    b();
    assert.equal(l.isLink('fw-1'), true);
  });

  it('ignores missing names and forgets the oldest links beyond its bound', () => {
    const l = new ChainLinks(2);
    l.pendingAt(undefined)();
    l.arrived(undefined);
    assert.equal(l.isLink(undefined), false);
    for (const n of ['a', 'b', 'c']) {
      const done = l.pendingAt(n);
      l.arrived(n);
      done();
    }
    assert.deepEqual(['a', 'b', 'c'].map((n) => l.isLink(n)), [false, true, true]);
  });

  it('counts the Requests pending at chain links (not at other endpoints)', () => {
    const l = new ChainLinks();
    const a = l.pendingAt('fw-1');
    const b = l.pendingAt('nse-1');
    assert.equal(l.pendingAtLinks(), 0);
    l.arrived('fw-1');
    assert.equal(l.pendingAtLinks(), 1);
    const c = l.pendingAt('fw-1');
    assert.equal(l.pendingAtLinks(), 2);
    a();
    c();
    b();
    assert.equal(l.pendingAtLinks(), 0);
  });
});
