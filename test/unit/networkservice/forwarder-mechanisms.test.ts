import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkServiceRequest, type Mechanism } from '../../../src/api/index.js';
import { begin } from '../../../src/sdk/core/begin.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { Status } from '../../../src/api/errors.js';
import { endpointIfName, forwarderMechanisms, mechanismsOf } from '../../../src/sdk/networkservice/forwarder-mechanisms.js';
import { CLS_LOCAL, CLS_REMOTE, isKernel, kernelMechanism, P, vhostUserMechanism, vxlanMechanism } from '../../../src/sdk/tools/mechanisms.js';
import { mechanismRegistry } from '../../../src/dataplane/mechanisms/index.js';
import { hasCode, nextUrlIs, recorder } from './helpers.js';

const MECHANISMS = mechanismRegistry();

const UNDERLAY = '198.18.0.1';
const LOCAL_URL = 'unix:///run/nsm/nsmgr.sock';
const REMOTE_URL = 'tcp://198.18.0.2:5001';
const CLIENT_KERNEL = kernelMechanism({ [P.name]: 'nsm-1', [P.inodeURL]: 'file:///proc/1/ns/net' });

/** The next hop: answers KERNEL like kernel-endpoint, VXLAN like a remote forwarder. */
function nextHop() {
  const seenMechs: { prefs: Mechanism[]; current: Mechanism | undefined }[] = [];
  const rec = recorder({
    onRequest(req) {
      const offered = req.mechanismPreferences[0]!;
      seenMechs.push({ prefs: structuredClone(req.mechanismPreferences), current: req.connection!.mechanism && { ...req.connection!.mechanism } });
      req.connection!.mechanism = isKernel(offered)
        ? kernelMechanism({ ...offered.parameters, [P.inodeURL]: 'file:///proc/2/ns/net' })
        : vxlanMechanism({ ...offered.parameters, [P.dstIp]: '198.18.0.2' });
    },
  });
  return { rec, seenMechs };
}

function setup(url: string) {
  const { rec, seenMechs } = nextHop();
  const handler = chain(begin(), nextUrlIs(url), forwarderMechanisms({ underlayIp: UNDERLAY, mechanisms: MECHANISMS }), rec);
  return { rec, seenMechs, handler };
}

const req = (prefs: Mechanism[], id = '0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9') => NetworkServiceRequest.fromPartial({ connection: { id }, mechanismPreferences: prefs });

describe('forwarder-mechanisms', () => {
  it('KERNEL incoming needs inodeURL and name', async () => {
    const { rec, handler } = setup(LOCAL_URL);
    await assert.rejects(handler.request(req([kernelMechanism({ [P.name]: 'x' })]), newCtx()), hasCode(Status.INVALID_ARGUMENT, /inodeURL/));
    await assert.rejects(handler.request(req([kernelMechanism({ [P.inodeURL]: 'ns' })]), newCtx()), hasCode(Status.INVALID_ARGUMENT, /"name"/));
    assert.equal(rec.requests.length, 0);
  });

  it('a malformed preference is skipped when a later one is usable', async () => {
    const { rec, handler } = setup(LOCAL_URL);
    const out = await handler.request(req([vxlanMechanism({}), kernelMechanism({ [P.name]: 'x' }), CLIENT_KERNEL]), newCtx());
    assert.equal(out.mechanism?.parameters[P.name], 'nsm-1');
    assert.equal(rec.requests.length, 1);
  });

  it('nothing supported is INVALID_ARGUMENT listing the offers', async () => {
    const { handler } = setup(LOCAL_URL);
    await assert.rejects(handler.request(req([{ cls: 'LOCAL', type: 'MEMIF', parameters: {} }]), newCtx()), hasCode(Status.INVALID_ARGUMENT, /LOCAL\/MEMIF/));
    await assert.rejects(handler.request(req([]), newCtx()), hasCode(Status.INVALID_ARGUMENT, /\(none\)/));
  });

  it('KERNEL in, local endpoint (unix://): KERNEL out with the endpoint interface name; the caller gets its KERNEL back', async () => {
    const { seenMechs, handler } = setup(LOCAL_URL);
    const id = '0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9';
    const out = await handler.request(req([{ cls: 'LOCAL', type: 'MEMIF', parameters: {} }, CLIENT_KERNEL], id), newCtx());
    const sent = seenMechs[0]!.prefs;
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.cls, CLS_LOCAL);
    assert.deepEqual(sent[0]!.parameters, { [P.name]: endpointIfName(id) });
    assert.equal(endpointIfName(id), 'nsm-0a1b2c3d');
    assert.deepEqual(out.mechanism, CLIENT_KERNEL, 'the caller gets the incoming mechanism');
  });

  it('KERNEL in, remote (tcp://): VXLAN out from our underlay with a fresh VNI', async () => {
    const { seenMechs, handler } = setup(REMOTE_URL);
    const out = await handler.request(req([CLIENT_KERNEL]), newCtx());
    const sent = seenMechs[0]!.prefs[0]!;
    assert.equal(sent.cls, CLS_REMOTE);
    assert.equal(sent.parameters[P.srcIp], UNDERLAY);
    const vni = Number(sent.parameters[P.vni]);
    assert.ok(Number.isInteger(vni) && vni > 0 && vni < 2 ** 24, `vni ${vni}`);
    assert.deepEqual(out.mechanism, CLIENT_KERNEL);
  });

  it('VXLAN in: gets dst_ip (our underlay) and keeps a valid proposed VNI; KERNEL out to a local endpoint', async () => {
    const { seenMechs, handler } = setup(LOCAL_URL);
    const out = await handler.request(req([vxlanMechanism({ [P.srcIp]: '198.18.0.9', [P.vni]: '4242' })]), newCtx());
    assert.deepEqual(out.mechanism!.parameters, { [P.srcIp]: '198.18.0.9', [P.vni]: '4242', [P.dstIp]: UNDERLAY });
    assert.equal(out.mechanism!.cls, CLS_REMOTE);
    assert.equal(seenMechs[0]!.prefs[0]!.type, 'KERNEL');
  });

  it('VHOSTUSER in (client only): a local endpoint is offered MEMIF, which it cross-connects to; from another node it is never offered', async () => {
    const vhost = vhostUserMechanism({ [P.socketfile]: '/run/nsm/vm/vhost-0/v0.sock' });
    const local = setup(LOCAL_URL);
    const out = await local.handler.request(req([vhost]), newCtx());
    assert.deepEqual(local.seenMechs[0]!.prefs.map((m) => m.type), ['MEMIF']);
    assert.deepEqual(out.mechanism, vhost);
    const fromRemote = setup(LOCAL_URL);
    await fromRemote.handler.request(req([vxlanMechanism({ [P.srcIp]: '198.18.0.9', [P.vni]: '77' })], 'from-remote'), newCtx());
    assert.deepEqual(fromRemote.seenMechs[0]!.prefs.map((m) => m.type), ['KERNEL', 'MEMIF']);
  });

  it('VXLAN in without a usable VNI gets one; without src_ip it is INVALID_ARGUMENT', async () => {
    const { handler } = setup(LOCAL_URL);
    for (const bad of ['0', '16777216', 'x', '']) {
      const out = await handler.request(req([vxlanMechanism({ [P.srcIp]: '198.18.0.9', [P.vni]: bad })], `id-${bad}`), newCtx());
      const vni = Number(out.mechanism!.parameters[P.vni]);
      assert.ok(Number.isInteger(vni) && vni > 0 && vni < 2 ** 24, `vni for ${bad}: ${vni}`);
    }
    await assert.rejects(handler.request(req([vxlanMechanism({ [P.vni]: '5' })], 'nosrc'), newCtx()), hasCode(Status.INVALID_ARGUMENT, /src_ip/));
  });

  it('VXLAN over an IPv6 underlay; a src_ip of the other family is INVALID_ARGUMENT naming both', async () => {
    const { rec } = nextHop();
    const v6 = chain(begin(), nextUrlIs(LOCAL_URL), forwarderMechanisms({ underlayIp: '2001:db8:ff::1', mechanisms: MECHANISMS }), rec);
    const out = await v6.request(req([vxlanMechanism({ [P.srcIp]: '2001:db8:ff::2', [P.vni]: '7' })], 'v6'), newCtx());
    assert.equal(out.mechanism!.parameters[P.dstIp], '2001:db8:ff::1');
    await assert.rejects(
      v6.request(req([vxlanMechanism({ [P.srcIp]: '198.18.0.9', [P.vni]: '7' })], 'mixed'), newCtx()),
      hasCode(Status.INVALID_ARGUMENT, /src_ip" 198\.18\.0\.9 is IPv4 but this forwarder's underlay is IPv6/),
    );
  });

  it('a VXLAN in carries its VNI to a VXLAN out (none chosen twice)', async () => {
    const { seenMechs, handler } = setup(REMOTE_URL);
    await handler.request(req([vxlanMechanism({ [P.srcIp]: '198.18.0.9', [P.vni]: '99' })]), newCtx());
    assert.equal(seenMechs[0]!.prefs[0]!.parameters[P.vni], '99');
  });

  it('a refresh keeps the outgoing name/VNI and shows the next hop its previous mechanism', async () => {
    const { seenMechs, handler } = setup(REMOTE_URL);
    const first = await handler.request(req([CLIENT_KERNEL]), newCtx());
    await handler.request(NetworkServiceRequest.fromPartial({ connection: first, mechanismPreferences: [] }), newCtx());
    assert.equal(seenMechs[1]!.prefs[0]!.parameters[P.vni], seenMechs[0]!.prefs[0]!.parameters[P.vni]);
    assert.equal(seenMechs[0]!.current, undefined);
    assert.equal(seenMechs[1]!.current!.parameters[P.dstIp], '198.18.0.2', 'the outgoing mechanism the next hop returned');
  });

  it('later elements see both mechanisms via mechanismsOf', async () => {
    let seen: unknown;
    const handler = chain(
      begin(),
      nextUrlIs(LOCAL_URL),
      forwarderMechanisms({ underlayIp: UNDERLAY, mechanisms: MECHANISMS }),
      {
        async request(r, ctx, next) {
          const out = await next.request(r, ctx);
          // after the next hop answered, the incoming one is known; outgoing is what it returned
          seen = { incoming: mechanismsOf(ctx)!.incoming.type, returned: out.mechanism!.type };
          return out;
        },
        close: (c, ctx, next) => next.close(c, ctx),
      },
      nextHop().rec,
    );
    await handler.request(req([CLIENT_KERNEL]), newCtx());
    assert.deepEqual(seen, { incoming: 'KERNEL', returned: 'KERNEL' });
  });

  it('close sends the outgoing mechanism on', async () => {
    const { rec, handler } = setup(REMOTE_URL);
    const conn = await handler.request(req([CLIENT_KERNEL]), newCtx());
    assert.equal(conn.mechanism!.type, 'KERNEL');
    await handler.close(conn, newCtx());
    assert.equal(rec.closes[0]!.conn.mechanism!.type, 'VXLAN');
    assert.equal(rec.closes[0]!.conn.mechanism!.parameters[P.dstIp], '198.18.0.2');
  });
});

describe('forwarder-mechanisms: services that require encryption', () => {
  const encSetup = (url: string, names?: string[]) => {
    const { rec, seenMechs } = nextHop();
    const handler = chain(begin(), nextUrlIs(url), forwarderMechanisms({ underlayIp: UNDERLAY, mechanisms: mechanismRegistry(names), encryptedServices: ['secure'] }), rec);
    return { rec, seenMechs, handler };
  };
  const secureReq = (prefs: Mechanism[], labels: Record<string, string> = {}, service = 'secure') =>
    NetworkServiceRequest.fromPartial({ connection: { id: '0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9', networkService: service, labels }, mechanismPreferences: prefs });

  it('the client side offers only encrypting mechanisms for such a service (and for a client labelled encrypted=true)', async () => {
    const { seenMechs, handler } = encSetup(REMOTE_URL, ['vxlan', 'wireguard']);
    await handler.request(secureReq([CLIENT_KERNEL]), newCtx()).catch(() => undefined);
    assert.deepEqual(seenMechs[0]!.prefs.map((m) => m.type), ['WIREGUARD']);
    await handler.request(secureReq([CLIENT_KERNEL], { encrypted: 'true' }, 'other'), newCtx()).catch(() => undefined);
    assert.deepEqual(seenMechs[1]!.prefs.map((m) => m.type), ['WIREGUARD']);
    await handler.request(secureReq([CLIENT_KERNEL], {}, 'other'), newCtx()).catch(() => undefined);
    assert.deepEqual(seenMechs[2]!.prefs.map((m) => m.type), ['VXLAN', 'WIREGUARD'], 'other services: the whole list');
  });

  it('no encrypting mechanism to offer is INVALID_ARGUMENT naming the list', async () => {
    const { rec, handler } = encSetup(REMOTE_URL, ['vxlan', 'srv6']);
    await assert.rejects(handler.request(secureReq([CLIENT_KERNEL]), newCtx()), hasCode(Status.INVALID_ARGUMENT, /service "secure" requires encryption.*REMOTE\/VXLAN, REMOTE\/SRV6.*WIREGUARD and IPSEC/));
    assert.equal(rec.requests.length, 0);
  });

  it('the endpoint side refuses a non-encrypting offer, naming offered and supported mechanisms', async () => {
    const { rec, handler } = encSetup(LOCAL_URL, ['vxlan', 'wireguard']);
    await assert.rejects(
      handler.request(secureReq([vxlanMechanism({ [P.srcIp]: '198.18.0.2', [P.vni]: '5' })]), newCtx()),
      hasCode(Status.INVALID_ARGUMENT, /requires encryption, and REMOTE\/VXLAN does not encrypt \(offered: REMOTE\/VXLAN; this forwarder supports: LOCAL\/KERNEL, LOCAL\/MEMIF, LOCAL\/VHOSTUSER, REMOTE\/VXLAN, REMOTE\/WIREGUARD\)/),
    );
    assert.equal(rec.requests.length, 0);
  });
});
