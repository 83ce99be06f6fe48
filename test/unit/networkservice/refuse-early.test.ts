// refuse-early: no selectable forwarder -> UNAVAILABLE at once, naming a lost one; every forwarder's
// admission full -> RESOURCE_EXHAUSTED for local clients only; otherwise (and for Close) it passes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection, NetworkServiceRequest, type NetworkServiceEndpoint } from '../../../src/api/index.js';
import { ResourceExhaustedError, UnavailableError } from '../../../src/api/errors.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import type { LostForwarder } from '../../../src/sdk/tools/directory.js';
import { refuseEarly } from '../../../src/sdk/networkservice/refuse-early.js';
import { nse, recorder } from './helpers.js';

const fwd = nse('fwd-1', { url: 'unix:///run/fwd-1.sock', networkServiceNames: ['forwarder'] });
const req = (index: number) => NetworkServiceRequest.fromPartial({ connection: { id: 'c', path: { index, pathSegments: [{ name: 'x', id: 'c' }] } } });

function setup(fwds: NetworkServiceEndpoint[], lost: LostForwarder[] = [], full = false) {
  const rec = recorder();
  const handler = chain(refuseEarly('nsmgr-1', { forwarders: () => fwds, lost: () => lost }, { full: () => full }), rec);
  return { rec, handler };
}

describe('refuse-early', () => {
  it('refuses with UNAVAILABLE naming the lost forwarder, or saying none registered', async () => {
    await assert.rejects(setup([], [{ name: 'fwd-1', reason: 'monitor stream broke: Connection dropped' }]).handler.request(req(0), newCtx()), (e: unknown) =>
      e instanceof UnavailableError && /no forwarder available on this node \(nsmgr nsmgr-1\): fwd-1 is gone \(monitor stream broke/.test(e.message),
    );
    await assert.rejects(setup([]).handler.request(req(2), newCtx()), (e: unknown) => e instanceof UnavailableError && /no forwarder registered with nsmgr nsmgr-1/.test(e.message));
  });

  it('refuses local clients with RESOURCE_EXHAUSTED when every forwarder is full; other nodes pass', async () => {
    const { handler, rec } = setup([fwd], [], true);
    await assert.rejects(handler.request(req(0), newCtx()), ResourceExhaustedError);
    await handler.request(req(2), newCtx());
    assert.equal(rec.requests.length, 1);
  });

  it('passes Requests when a forwarder has room, and always passes Close', async () => {
    const { handler, rec } = setup([fwd]);
    await handler.request(req(0), newCtx());
    await setup([]).handler.close(Connection.fromPartial({ id: 'c' }), newCtx());
    assert.equal(rec.requests.length, 1);
  });
});
