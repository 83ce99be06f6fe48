// proxy-route: another domain's endpoint goes to that domain's proxy (also a floating name), this
// domain's endpoint to its nsmgr (looked up without the suffix); names pass unchanged; clear errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkServiceRequest } from '../../../src/api/index.js';
import { Status } from '../../../src/api/errors.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { proxyRoute } from '../../../src/sdk/networkservice/proxy-route.js';
import { homeDomain } from '../../../src/sdk/tools/domains.js';
import { nextUrlOf } from '../../../src/sdk/tools/next-url.js';
import { fakeEndpointDirectory, hasCode, nse, recorder } from './helpers.js';

describe('proxy-route', () => {
  const dir = fakeEndpointDirectory([], [nse('nse-b', { url: 'tcp://198.18.0.2:5002' })]);
  const proxies = new Map([['domain-a', 'tcp://198.18.0.254:5021']]);
  const route = async (own: string, name: string) => {
    const seen: [string | undefined, string][] = [];
    const rec = recorder({ onRequest: (r, ctx) => void seen.push([nextUrlOf(ctx), r.connection!.networkServiceEndpointName]) });
    await chain(proxyRoute({ own, proxies, directory: dir }), rec).request(NetworkServiceRequest.fromPartial({ connection: { id: 'x', networkServiceEndpointName: name } }), newCtx());
    return seen[0];
  };

  it('home domains', () => {
    assert.equal(homeDomain('nse-b@domain-b'), 'domain-b');
    assert.equal(homeDomain('nse-f@domain-b@floating'), 'domain-b');
    assert.equal(homeDomain('nse-b'), undefined);
  });

  it("routes to the other domain's proxy, or to the endpoint's nsmgr in its own domain", async () => {
    assert.deepEqual(await route('domain-b', 'nse-x@domain-a'), ['tcp://198.18.0.254:5021', 'nse-x@domain-a']);
    assert.deepEqual(await route('domain-b', 'nse-b@domain-b'), ['tcp://198.18.0.2:5002', 'nse-b@domain-b']);
    assert.deepEqual(await route('domain-b', 'nse-b@domain-b@floating'), ['tcp://198.18.0.2:5002', 'nse-b@domain-b@floating']);
  });

  it('unknown domain, unknown endpoint, no domain: clear errors', async () => {
    await assert.rejects(route('domain-b', 'nse@domain-c'), hasCode(Status.NOT_FOUND, /no proxy known for domain "domain-c" \(known: domain-a\)/));
    await assert.rejects(route('domain-b', 'ghost@domain-b'), hasCode(Status.NOT_FOUND, /"ghost" is not registered in domain "domain-b"/));
    await assert.rejects(route('domain-b', 'nse-b'), hasCode(Status.FAILED_PRECONDITION, /names no domain/));
  });
});
