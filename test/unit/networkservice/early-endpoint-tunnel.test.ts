// program-dataplane with tools/early-veth on the endpoint-side forwarder of a remote connection (incoming VXLAN,
// outgoing KERNEL to an endpoint on this node): the VXLAN interface, peer included, is made in the namespace the
// endpoint's previous answer named while the Request is at the endpoint; then only addresses and routes are left.
// An answer that differs (namespace, MTU), a failed Request or a failed finish leaves nothing behind; links of an
// earlier life (the ledger's) and refreshes are never prepared over.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkServiceRequest, type Connection, type Mechanism } from '../../../src/api/index.js';
import { AlreadyExistsError } from '../../../src/api/errors.js';
import { begin } from '../../../src/sdk/core/begin.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { endpointIfName, forwarderMechanisms } from '../../../src/sdk/networkservice/forwarder-mechanisms.js';
import { ALIAS_PREFIX, programDataplane, type ForwarderDataplane } from '../../../src/sdk/networkservice/program-dataplane.js';
import { EarlyVeths } from '../../../src/sdk/tools/early-veth.js';
import { kernelMechanism, memifMechanism, P, vxlanMechanism } from '../../../src/sdk/tools/mechanisms.js';
import { mechanismRegistry } from '../../../src/dataplane/mechanisms/index.js';
import { nextUrlIs } from './helpers.js';
import { fakeLocalEndpoint, RecordingDataplane, type EndpointBehaviour } from './recording-dataplane.js';

const MECHANISMS = mechanismRegistry();
const UNDERLAY = '198.18.0.2';
const CLIENT_NODE = '198.18.0.1';
const NSE_NS = 'file:///var/run/netns/nse-1';
const OTHER_NS = 'file:///var/run/netns/nse-2';
const NSE_URL = 'unix:///run/nsm/nse-1.sock';
const ids = ['0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9', '1b2c3d4e-5f60-7182-93a4-b5c6d7e8f90a', '2c3d4e5f-6071-8293-a4b5-c6d7e8f90a1b', '3d4e5f60-7182-93a4-b5c6-d7e8f90a1b2c'];
const alias = (id: string) => `${ALIAS_PREFIX}${id}`;
const vniOf = (id: string) => 100 + ids.indexOf(id);

type Link = { kind: 'vxlan'; alias: string; vni: number; remote?: string; mtu?: number };

/** A fake kernel with VXLAN links by "netns/name"; every call logged. */
class Kernel extends RecordingDataplane implements ForwarderDataplane {
  readonly links = new Map<string, Link | { kind: 'other'; alias: string }>();
  ledger?: (alias: string) => { netns: string; name: string }[];
  async createVeth() {
    this.log('createVeth');
  }
  async createVxlan(spec: Parameters<ForwarderDataplane['createVxlan']>[0]) {
    this.log('createVxlan', spec);
    const key = `${spec.targetNetns}/${spec.name}`;
    if (this.links.has(key)) throw new AlreadyExistsError(`link ${spec.name} already exists`);
    this.links.set(key, { kind: 'vxlan', vni: spec.vni, alias: spec.alias, ...(spec.remote ? { remote: spec.remote } : {}), ...(spec.mtu ? { mtu: spec.mtu } : {}) });
  }
  async deleteLink(netns: string, name: string) {
    this.log('deleteLink', netns, name);
    return this.links.delete(`${netns}/${name}`);
  }
  async linkInfo(netns: string, name: string) {
    const l = this.links.get(`${netns}/${name}`);
    return l ? { ...l } : undefined;
  }
  linksTagged(alias: string) {
    return this.ledger?.(alias) ?? [];
  }
}

interface EndpointOpts extends EndpointBehaviour {
  memif?: boolean;
}

/** Forwarder-2's chain: a local endpoint answering the forwarder's KERNEL offer with its namespace (each answer as `endpoint()` says now). */
function setup() {
  const dp = new Kernel();
  const { rec, seen, endpoint } = fakeLocalEndpoint<EndpointOpts>(dp.links, (req, b) =>
    b.memif ? memifMechanism({ [P.socketfile]: '/run/nse/memif.sock' }) : kernelMechanism({ ...req.mechanismPreferences[0]!.parameters, [P.inodeURL]: b.netns ?? NSE_NS }),
  );
  const handler = chain(begin(), nextUrlIs(NSE_URL), forwarderMechanisms({ underlayIp: UNDERLAY, mechanisms: MECHANISMS }), programDataplane(dp, { underlayIp: UNDERLAY, mechanisms: MECHANISMS }), rec);
  const request = (id: string, opts: { mtu?: number } = {}) =>
    handler.request(
      NetworkServiceRequest.fromPartial({
        connection: { id, networkServiceEndpointName: 'nse-1', ...(opts.mtu ? { context: { MTU: opts.mtu } } : {}) },
        mechanismPreferences: [vxlanMechanism({ [P.srcIp]: CLIENT_NODE, [P.vni]: String(vniOf(id)) })],
      }),
      newCtx(),
    );
  return {
    dp,
    rec,
    seen,
    request,
    close: (conn: Connection) => handler.close(conn, newCtx()),
    endpoint,
  };
}

describe('early endpoint tunnel (endpoint-side forwarder, VXLAN->KERNEL)', () => {
  it('the first Request to an endpoint programs after the answer; the next one finds its VXLAN, peer included, made before the answer', async () => {
    const { dp, seen, request } = setup();
    await request(ids[0]!);
    assert.equal(seen.linksWhenAsked, 0, 'nothing is known about the endpoint yet');
    dp.reset();
    await request(ids[1]!);
    assert.equal(seen.linksWhenAsked, 2, 'the second interface existed before the endpoint answered');
    const name = endpointIfName(ids[1]!);
    assert.deepEqual(dp.named('createVxlan'), [[{ name, targetNetns: NSE_NS, vni: vniOf(ids[1]!), local: UNDERLAY, remote: CLIENT_NODE, alias: alias(ids[1]!), mtu: 1450, background: false }]]);
    assert.deepEqual(dp.named('addAddress'), [[NSE_NS, name, '169.254.2.0/32']]);
    assert.deepEqual(dp.named('addRoute'), [[NSE_NS, { prefix: '169.254.2.1/32', dev: name }]]);
    assert.deepEqual(dp.named('deleteLink'), []);
  });

  it('an answer from another namespace removes the prepared interface, programs anew and forgets the endpoint until it answers again', async () => {
    const { dp, seen, request, endpoint } = setup();
    await request(ids[0]!);
    endpoint({ netns: OTHER_NS });
    dp.reset();
    await request(ids[1]!);
    assert.equal(seen.linksWhenAsked, 2, 'prepared where the last answer said');
    const name = endpointIfName(ids[1]!);
    assert.deepEqual(
      dp.named('createVxlan').map((c) => (c[0] as { targetNetns: string }).targetNetns),
      [NSE_NS, OTHER_NS],
    );
    assert.deepEqual(dp.named('deleteLink'), [[NSE_NS, name]]);
    assert.ok(!dp.links.has(`${NSE_NS}/${name}`), 'nothing stays in the namespace that was guessed');
    assert.deepEqual(dp.links.get(`${OTHER_NS}/${name}`), { kind: 'vxlan', vni: vniOf(ids[1]!), remote: CLIENT_NODE, alias: alias(ids[1]!), mtu: 1450 });
    await request(ids[2]!);
    assert.equal(seen.linksWhenAsked, 2, 'an answer that differed dropped what was learned');
    await request(ids[3]!);
    assert.equal(seen.linksWhenAsked, 4, 'learned again from the answer after that');
  });

  it('an MTU the endpoint sets is learned and used; another one drops the prepared interface', async () => {
    const { dp, seen, request, endpoint } = setup();
    endpoint({ mtu: 1400 });
    await request(ids[0]!);
    dp.reset();
    await request(ids[1]!);
    assert.equal(seen.linksWhenAsked, 2);
    assert.deepEqual(
      dp.named('createVxlan').map((c) => (c[0] as { mtu?: number }).mtu),
      [1400],
    );
    assert.deepEqual(dp.named('deleteLink'), []);
    endpoint({ mtu: 1300 });
    dp.reset();
    await request(ids[2]!);
    const name = endpointIfName(ids[2]!);
    assert.deepEqual(
      dp.named('createVxlan').map((c) => (c[0] as { mtu?: number }).mtu),
      [1400, 1300],
    );
    assert.deepEqual(dp.named('deleteLink'), [[NSE_NS, name]]);
    assert.equal((dp.links.get(`${NSE_NS}/${name}`) as Link).mtu, 1300);
    assert.equal(dp.links.size, 3);
  });

  it('an answer with another mechanism (MEMIF) removes the prepared interface', async () => {
    const { dp, request, endpoint } = setup();
    await request(ids[0]!);
    endpoint({ memif: true });
    dp.reset();
    // MEMIF to an endpoint is joined through the forwarder's namespace, which this fake cannot do: the Request fails.
    await request(ids[1]!).catch(() => undefined);
    assert.deepEqual(dp.named('deleteLink')[0], [NSE_NS, endpointIfName(ids[1]!)]);
    assert.ok(!dp.links.has(`${NSE_NS}/${endpointIfName(ids[1]!)}`));
  });

  it('a Request that fails at the endpoint removes the prepared interface and forgets the endpoint', async () => {
    const { dp, seen, request, endpoint } = setup();
    await request(ids[0]!);
    endpoint({ fail: new Error('no addresses left') });
    await assert.rejects(request(ids[1]!), /no addresses left/);
    assert.equal(seen.linksWhenAsked, 2, 'it was prepared');
    assert.equal(dp.links.size, 1, "only the first connection's interface stays");
    endpoint({});
    await request(ids[2]!);
    assert.equal(seen.linksWhenAsked, 1, 'not prepared after the failure');
  });

  it('a failure finishing it removes the interface and closes the endpoint', async () => {
    const { dp, rec, seen, request } = setup();
    await request(ids[0]!);
    dp.fail = (m) => (m === 'addAddress' ? new Error('EINVAL') : undefined);
    await assert.rejects(request(ids[1]!), /EINVAL/);
    assert.equal(seen.linksWhenAsked, 2, 'it was prepared');
    assert.equal(dp.links.size, 1, "nothing half-made stays: only the first connection's interface");
    assert.equal(rec.closes.length, 1, 'the endpoint was closed');
  });

  it('a creation that fails is dropped quietly: the usual path programs after the answer', async () => {
    const { dp, seen, request } = setup();
    await request(ids[0]!);
    let first = true;
    dp.fail = (m) => (m === 'createVxlan' && first ? ((first = false), new Error('ENOENT: namespace gone')) : undefined);
    dp.reset();
    await request(ids[1]!);
    assert.equal(seen.linksWhenAsked, 1);
    assert.equal(dp.named('createVxlan').length, 2);
    assert.ok(dp.links.has(`${NSE_NS}/${endpointIfName(ids[1]!)}`));
  });

  it("links the ledger already holds for the connection (an earlier life's, kept in place) are not prepared over", async () => {
    const { dp, seen, request } = setup();
    await request(ids[0]!);
    dp.ledger = (a) => (a === alias(ids[1]!) ? [{ netns: NSE_NS, name: endpointIfName(ids[1]!) }] : []);
    await request(ids[1]!);
    assert.equal(seen.linksWhenAsked, 1);
  });

  it('a refresh of an existing connection prepares nothing', async () => {
    const { dp, seen, request } = setup();
    await request(ids[0]!);
    await request(ids[1]!);
    dp.reset();
    // The refresh's answer carries another IP context, so it is programmed again, after the answer.
    await request(ids[1]!);
    assert.equal(seen.linksWhenAsked, 2, 'no third interface before the answer');
    assert.equal(dp.named('createVxlan').length, 1);
  });

  it('a name taken by something else is not prepared over; the usual path refuses it and leaves it alone', async () => {
    const { dp, request } = setup();
    await request(ids[0]!);
    dp.links.set(`${NSE_NS}/${endpointIfName(ids[1]!)}`, { kind: 'other', alias: 'theirs' });
    await assert.rejects(request(ids[1]!), /already exists/);
    assert.equal(dp.links.get(`${NSE_NS}/${endpointIfName(ids[1]!)}`)?.alias, 'theirs');
    assert.equal(dp.links.size, 2);
  });

  it('Close removes an interface that was prepared', async () => {
    const { dp, request, close } = setup();
    await request(ids[0]!);
    const conn = await request(ids[1]!);
    await close(conn);
    assert.equal(dp.links.size, 1);
  });
});

describe('EarlyVeths.start (which remote connections are prepared)', () => {
  const log = { debug() {}, warn() {} };
  const ctx = (dp: ForwarderDataplane) => ({ dp, connId: ids[0]!, alias: alias(ids[0]!), service: 'svc', underlayIp: UNDERLAY });
  const learnedCache = () => {
    const c = new EarlyVeths(MECHANISMS);
    const offer = kernelMechanism({ [P.name]: 'nsm-x' });
    c.observe('k', offer, kernelMechanism({ [P.name]: 'nsm-x', [P.inodeURL]: NSE_NS }), undefined, undefined);
    return c;
  };
  const incoming = (params: Record<string, string>): Mechanism => vxlanMechanism({ [P.srcIp]: CLIENT_NODE, [P.dstIp]: UNDERLAY, [P.vni]: '7', ...params });

  it('not toward an endpoint that is no kernel interface (MEMIF is joined through the forwarder)', () => {
    const dp = new Kernel();
    assert.equal(learnedCache().start('k', ctx(dp), incoming({}), [memifMechanism({})], log), undefined);
    assert.equal(dp.calls.length, 0);
  });

  it('not from an incoming VXLAN without a usable VNI or peer of our family', () => {
    const dp = new Kernel();
    const c = learnedCache();
    const offers = [kernelMechanism({ [P.name]: 'nsm-x' })];
    assert.equal(c.start('k', ctx(dp), incoming({ [P.vni]: '0' }), offers, log), undefined);
    assert.equal(c.start('k', ctx(dp), incoming({ [P.srcIp]: '2001:db8::1' }), offers, log), undefined);
    assert.equal(dp.calls.length, 0);
    assert.ok(c.start('k', ctx(dp), incoming({}), offers, log), 'a usable one is prepared');
  });
});
