import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkServiceRequest } from '../../../src/api/index.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { Status } from '../../../src/api/errors.js';
import { nextUrlOf } from '../../../src/sdk/tools/next-url.js';
import { resolveEndpoint } from '../../../src/sdk/networkservice/resolve-endpoint.js';
import { fakeEndpointDirectory, hasCode, nse, recorder } from './helpers.js';

describe('resolve-endpoint', () => {
  const dir = fakeEndpointDirectory([], [nse('nse-local', { url: 'unix:///run/nse.sock' }), nse('nse-nourl', { url: '' })]);

  it("sets the next URL to the endpoint's URL", async () => {
    const seen: (string | undefined)[] = [];
    const rec = recorder({ onRequest: (_r, ctx) => void seen.push(nextUrlOf(ctx)) });
    await chain(resolveEndpoint(dir), rec).request(NetworkServiceRequest.fromPartial({ connection: { id: 'x', networkServiceEndpointName: 'nse-local' } }), newCtx());
    assert.deepEqual(seen, ['unix:///run/nse.sock']);
  });

  it('an unnamed endpoint is INVALID_ARGUMENT; an unknown one (or without URL) NOT_FOUND', async () => {
    const h = chain(resolveEndpoint(dir), recorder());
    await assert.rejects(h.request(NetworkServiceRequest.fromPartial({ connection: { id: 'x' } }), newCtx()), hasCode(Status.INVALID_ARGUMENT));
    await assert.rejects(h.request(NetworkServiceRequest.fromPartial({ connection: { id: 'x', networkServiceEndpointName: 'ghost' } }), newCtx()), hasCode(Status.NOT_FOUND, /ghost/));
    await assert.rejects(h.request(NetworkServiceRequest.fromPartial({ connection: { id: 'x', networkServiceEndpointName: 'nse-nourl' } }), newCtx()), hasCode(Status.NOT_FOUND));
  });
});
