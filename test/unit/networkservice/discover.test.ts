import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkService, NetworkServiceRequest, State } from '../../../src/api/index.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { InvalidArgumentError, Status, UnavailableError } from '../../../src/api/errors.js';
import { discover } from '../../../src/sdk/networkservice/discover.js';
import { fakeEndpointDirectory, hasCode, nse, recorder } from './helpers.js';

const SVC = 'svc';
const eps = ['nse-a', 'nse-b', 'nse-c'].map((n, i) => nse(n, { networkServiceNames: [SVC], networkServiceLabels: { [SVC]: { labels: { idx: String(i) } } } }));
const req = (conn: Record<string, unknown> = {}) => NetworkServiceRequest.fromPartial({ connection: { id: 'c', networkService: SVC, ...conn } });

describe('discover', () => {
  it('sets the endpoint name, round-robin across requests', async () => {
    const rec = recorder();
    const handler = chain(discover(fakeEndpointDirectory([], eps)), rec);
    const chosen: string[] = [];
    for (let i = 0; i < 4; i++) chosen.push((await handler.request(req({ id: `c${i}` }), newCtx())).networkServiceEndpointName);
    assert.deepEqual(chosen, ['nse-a', 'nse-b', 'nse-c', 'nse-a']);
    assert.deepEqual(rec.requests.map((r) => r.conn.networkServiceEndpointName), chosen, 'set before the next element');
  });

  it('retries the next candidate on UNAVAILABLE', async () => {
    const rec = recorder({
      onRequest(r) {
        if (r.connection!.networkServiceEndpointName === 'nse-a') throw new UnavailableError('nse-a is down');
      },
    });
    const out = await chain(discover(fakeEndpointDirectory([], eps)), rec).request(req(), newCtx());
    assert.equal(out.networkServiceEndpointName, 'nse-b');
  });

  it('stops at INVALID_ARGUMENT and clears the endpoint name', async () => {
    const tried: string[] = [];
    const rec = recorder({
      onRequest(r) {
        tried.push(r.connection!.networkServiceEndpointName);
        throw new InvalidArgumentError('bad request');
      },
    });
    const r = req();
    await assert.rejects(chain(discover(fakeEndpointDirectory([], eps)), rec).request(r, newCtx()), hasCode(Status.INVALID_ARGUMENT));
    assert.deepEqual(tried, ['nse-a']);
    assert.equal(r.connection!.networkServiceEndpointName, '');
  });

  it('all candidates failing gives the last error', async () => {
    const rec = recorder({
      onRequest(r) {
        throw new UnavailableError(`${r.connection!.networkServiceEndpointName} down`);
      },
    });
    await assert.rejects(chain(discover(fakeEndpointDirectory([], eps)), rec).request(req(), newCtx()), hasCode(Status.UNAVAILABLE, /nse-c down/));
  });

  it('an unknown service is NOT_FOUND naming the service', async () => {
    const handler = chain(discover(fakeEndpointDirectory([], eps)), recorder());
    await assert.rejects(handler.request(req({ networkService: 'ghost' }), newCtx()), hasCode(Status.NOT_FOUND, /"ghost"/));
  });

  it('a policy that leaves nothing is NOT_FOUND naming the labels', async () => {
    const ns = NetworkService.fromPartial({ name: SVC, matches: [{ sourceSelector: { app: 'y' }, routes: [{ destinationSelector: { idx: 'none' } }] }] });
    const handler = chain(discover(fakeEndpointDirectory([ns], eps)), recorder());
    await assert.rejects(handler.request(req({ labels: { app: 'y' } }), newCtx()), hasCode(Status.NOT_FOUND, /app=y/));
  });

  it('no match applies to the client labels: every endpoint is a candidate (as upstream)', async () => {
    const ns = NetworkService.fromPartial({ name: SVC, matches: [{ sourceSelector: { role: 'picky' }, routes: [{ destinationSelector: { idx: 'none' } }] }] });
    const out = await chain(discover(fakeEndpointDirectory([ns], eps)), recorder()).request(req({ labels: { app: 'web' } }), newCtx());
    assert.ok(eps.some((e) => e.name === out.networkServiceEndpointName));
  });

  it('the policy is applied to the client labels', async () => {
    const ns = NetworkService.fromPartial({ name: SVC, matches: [{ sourceSelector: {}, routes: [{ destinationSelector: { idx: '2' } }] }] });
    const out = await chain(discover(fakeEndpointDirectory([ns], eps)), recorder()).request(req(), newCtx());
    assert.equal(out.networkServiceEndpointName, 'nse-c');
  });

  it('a weighted route wins over unweighted ones', async () => {
    const ns = NetworkService.fromPartial({
      name: SVC,
      matches: [{ sourceSelector: {}, routes: [{ destinationSelector: { idx: '0' }, weight: 0 }, { destinationSelector: { idx: '1' }, weight: 5 }] }],
    });
    const handler = chain(discover(fakeEndpointDirectory([ns], eps)), recorder());
    for (let i = 0; i < 5; i++) assert.equal((await handler.request(req({ id: `w${i}` }), newCtx())).networkServiceEndpointName, 'nse-b');
  });

  it('RESELECT_REQUESTED clears the chosen endpoint and selects again', async () => {
    const dir = fakeEndpointDirectory([], eps.slice(1));
    const out = await chain(discover(dir), recorder()).request(req({ networkServiceEndpointName: 'nse-a', state: State.RESELECT_REQUESTED }), newCtx());
    assert.equal(out.networkServiceEndpointName, 'nse-b');
    assert.ok(dir.calls.includes(`endpointsFor:${SVC}`));
  });

  it('a request that already names its endpoint passes through untouched', async () => {
    const dir = fakeEndpointDirectory([], eps);
    const out = await chain(discover(dir), recorder()).request(req({ networkServiceEndpointName: 'nse-z' }), newCtx());
    assert.equal(out.networkServiceEndpointName, 'nse-z');
    assert.deepEqual(dir.calls, []);
  });

  it('a request without a network service is INVALID_ARGUMENT', async () => {
    await assert.rejects(chain(discover(fakeEndpointDirectory([], eps)), recorder()).request(req({ networkService: '' }), newCtx()), hasCode(Status.INVALID_ARGUMENT));
  });
});
