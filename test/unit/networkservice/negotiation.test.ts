// Remote mechanism negotiation between forwarders: the client side offers its remote
// mechanisms in its priority order; the endpoint side takes the first it supports.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Mechanism, NetworkServiceRequest } from '../../../src/api/index.js';
import { begin } from '../../../src/sdk/core/begin.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { Status } from '../../../src/api/errors.js';
import { mechanismRegistry, vxlan } from '../../../src/dataplane/mechanisms/index.js';
import { forwarderMechanisms, REMOTE_MECHANISM_METRIC } from '../../../src/sdk/networkservice/forwarder-mechanisms.js';
import type { MechanismRegistry, RemoteMechanism } from '../../../src/sdk/tools/mechanism-module.js';
import { kernelMechanism, P } from '../../../src/sdk/tools/mechanisms.js';
import { hasCode, nextUrlIs, recorder } from './helpers.js';

/** A second remote mechanism for the test: needs only "src_ip". */
const fake: RemoteMechanism = {
  cls: 'REMOTE',
  type: 'FAKE',
  name: 'fake',
  check: (m) => (m.parameters[P.srcIp] ? undefined : 'FAKE needs "src_ip"'),
  offer: (env) => Mechanism.fromPartial({ cls: 'REMOTE', type: 'FAKE', parameters: { [P.srcIp]: env.underlayIp } }),
  accept: (m, env) => Mechanism.fromPartial({ ...m, parameters: { ...m.parameters, [P.dstIp]: env.underlayIp } }),
  program: async () => [],
};

const registry = (...remote: RemoteMechanism[]): MechanismRegistry => ({ local: mechanismRegistry().local, remote });
const CLIENT_KERNEL = kernelMechanism({ [P.name]: 'nsm-1', [P.inodeURL]: 'file:///proc/1/ns/net' });

/** The client-side forwarder (towards tcp://) feeding its offers to an endpoint-side forwarder (towards a local endpoint). */
function pair(clientSide: MechanismRegistry, endpointSide: MechanismRegistry) {
  const endpoint = recorder({
    onRequest(req) {
      req.connection!.mechanism = kernelMechanism({ ...req.mechanismPreferences[0]!.parameters, [P.inodeURL]: 'file:///proc/2/ns/net' });
    },
  });
  const remote = chain(begin(), nextUrlIs('unix:///nse.sock'), forwarderMechanisms({ underlayIp: '198.18.0.2', mechanisms: endpointSide }), endpoint);
  const offers: Mechanism[][] = [];
  const hop = {
    request: async (req: NetworkServiceRequest, _ctx: ReturnType<typeof newCtx>) => {
      offers.push(req.mechanismPreferences);
      return remote.request(NetworkServiceRequest.fromPartial({ connection: req.connection!, mechanismPreferences: req.mechanismPreferences }), newCtx());
    },
    close: async () => undefined,
  };
  const local = chain(begin(), nextUrlIs('tcp://198.18.0.2:5001'), forwarderMechanisms({ underlayIp: '198.18.0.1', mechanisms: clientSide }), {
    request: (req, ctx) => hop.request(req, ctx),
    close: async () => undefined,
  });
  return { local, offers };
}

const req = () =>
  NetworkServiceRequest.fromPartial({
    connection: { id: 'c1', path: { index: 0, pathSegments: [{ name: 'fwd-1', id: 'c1' }] } },
    mechanismPreferences: [CLIENT_KERNEL],
  });

describe('remote mechanism negotiation', () => {
  it('the client side offers its list in its priority order', async () => {
    const { local, offers } = pair(registry(fake, vxlan), registry(fake, vxlan));
    await local.request(req(), newCtx());
    assert.deepEqual(offers[0]!.map((m) => m.type), ['FAKE', 'VXLAN']);
  });

  it('the endpoint side takes the first offer it supports', async () => {
    const both = pair(registry(fake, vxlan), registry(vxlan, fake));
    const out = await both.local.request(req(), newCtx());
    assert.equal(out.path!.pathSegments[0]!.metrics[REMOTE_MECHANISM_METRIC], 'FAKE', 'the offer order wins, not the endpoint side\'s');
    const onlyVxlan = pair(registry(fake, vxlan), registry(vxlan));
    const out2 = await onlyVxlan.local.request(req(), newCtx());
    assert.equal(out2.path!.pathSegments[0]!.metrics[REMOTE_MECHANISM_METRIC], 'VXLAN', 'an unsupported offer is skipped');
  });

  it('no common mechanism: INVALID_ARGUMENT naming what was offered and what is supported', async () => {
    const { local } = pair(registry(fake), registry(vxlan));
    await assert.rejects(local.request(req(), newCtx()), hasCode(Status.INVALID_ARGUMENT, /offered: REMOTE\/FAKE; this forwarder supports: LOCAL\/KERNEL, LOCAL\/MEMIF, LOCAL\/VHOSTUSER, REMOTE\/VXLAN/));
  });

  it('a list skips unknown names; none known is an error naming the supported ones', () => {
    const reg = mechanismRegistry(['gre', 'VXLAN', 'vxlan']);
    assert.deepEqual(reg.remote.map((m) => m.name), ['vxlan']);
    assert.deepEqual(reg.skipped, ['gre']);
    assert.throws(() => mechanismRegistry(['gre', 'ipx']), /no supported remote mechanism in "gre,ipx" \(supported: vxlan, srv6, wireguard, ipsec\)/);
  });
});
