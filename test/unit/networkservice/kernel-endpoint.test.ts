import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkServiceRequest } from '../../../src/api/index.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { Status } from '../../../src/api/errors.js';
import { kernelEndpoint } from '../../../src/sdk/networkservice/kernel-endpoint.js';
import { kernelMechanism, P, vxlanMechanism } from '../../../src/sdk/tools/mechanisms.js';
import { hasCode, recorder } from './helpers.js';

const NETNS = 'file:///proc/123/ns/net';

describe('kernel-endpoint', () => {
  it('accepts KERNEL and sets inodeURL and the offered name', async () => {
    const rec = recorder();
    const out = await chain(kernelEndpoint({ netnsUrl: NETNS }), rec).request(
      NetworkServiceRequest.fromPartial({ connection: { id: 'abcd-ef01-2345' }, mechanismPreferences: [vxlanMechanism({}), kernelMechanism({ [P.name]: 'nsm-abc', [P.mtu]: '1400' })] }),
      newCtx(),
    );
    assert.equal(out.mechanism!.type, 'KERNEL');
    assert.equal(out.mechanism!.cls, 'LOCAL');
    assert.deepEqual(out.mechanism!.parameters, { [P.name]: 'nsm-abc', [P.inodeURL]: NETNS, [P.mtu]: '1400' });
    assert.deepEqual(rec.requests[0]!.conn.mechanism, out.mechanism, 'set before the next element');
  });

  it('without an offered name it makes one from the prefix and connection id (<= 15 chars)', async () => {
    const out = await chain(kernelEndpoint({ netnsUrl: NETNS, ifnamePrefix: 'ep' }), recorder()).request(
      NetworkServiceRequest.fromPartial({ connection: { id: '0123abcd-5678-9abc' }, mechanismPreferences: [kernelMechanism({})] }),
      newCtx(),
    );
    assert.equal(out.mechanism!.parameters[P.name], 'ep-0123abcd');
    const dflt = await chain(kernelEndpoint({ netnsUrl: NETNS }), recorder()).request(
      NetworkServiceRequest.fromPartial({ connection: { id: '0123abcd-5678-9abc' }, mechanismPreferences: [kernelMechanism({})] }),
      newCtx(),
    );
    assert.ok(dflt.mechanism!.parameters[P.name]!.length <= 15);
  });

  it('a refresh with the mechanism on the connection (no preferences) keeps it', async () => {
    const out = await chain(kernelEndpoint({ netnsUrl: NETNS }), recorder()).request(
      NetworkServiceRequest.fromPartial({ connection: { id: 'x', mechanism: kernelMechanism({ [P.name]: 'keep-me' }) } }),
      newCtx(),
    );
    assert.equal(out.mechanism!.parameters[P.name], 'keep-me');
  });

  it('no KERNEL offered is INVALID_ARGUMENT listing the offers', async () => {
    const rec = recorder();
    await assert.rejects(
      chain(kernelEndpoint({ netnsUrl: NETNS }), rec).request(NetworkServiceRequest.fromPartial({ connection: { id: 'x' }, mechanismPreferences: [vxlanMechanism({})] }), newCtx()),
      hasCode(Status.INVALID_ARGUMENT, /REMOTE\/VXLAN/),
    );
    assert.equal(rec.requests.length, 0);
  });
});
