// program-dataplane with tools/early-veth: between a client and an endpoint on this node the veth pair is made
// while the Request travels to the endpoint, its endpoint end where that endpoint's previous answer put it; then
// only addresses and routes are left. An answer that differs, a failed Request or a failed finish leaves nothing
// behind; refreshes and links of an earlier life (the ledger's) are never prepared over.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkServiceRequest, type Connection, type Mechanism } from '../../../src/api/index.js';
import { AlreadyExistsError } from '../../../src/api/errors.js';
import { begin } from '../../../src/sdk/core/begin.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { forwarderMechanisms, endpointIfName } from '../../../src/sdk/networkservice/forwarder-mechanisms.js';
import { ALIAS_PREFIX, programDataplane, type ForwarderDataplane } from '../../../src/sdk/networkservice/program-dataplane.js';
import { EarlyVeths, localEndpointKey } from '../../../src/sdk/tools/early-veth.js';
import { kernelMechanism, P } from '../../../src/sdk/tools/mechanisms.js';
import { mechanismRegistry } from '../../../src/dataplane/mechanisms/index.js';
import { nextUrlIs } from './helpers.js';
import { fakeLocalEndpoint, RecordingDataplane, type EndpointBehaviour } from './recording-dataplane.js';

const MECHANISMS = mechanismRegistry();
const UNDERLAY = '198.18.0.1';
const CLIENT_NS = 'file:///proc/100/ns/net';
const NSE_NS = 'file:///var/run/netns/nse-1';
const OTHER_NS = 'file:///var/run/netns/nse-2';
const NSE_URL = 'unix:///run/nsm/nse-1.sock';
const ids = ['0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9', '1b2c3d4e-5f60-7182-93a4-b5c6d7e8f90a', '2c3d4e5f-6071-8293-a4b5-c6d7e8f90a1b', '3d4e5f60-7182-93a4-b5c6-d7e8f90a1b2c', '4e5f6071-8293-a4b5-c6d7-e8f90a1b2c3d'];

type VethEnd = { alias: string; mtu?: number; peer: string };

/** A fake kernel with veth ends by "netns/name" (both ends of a pair go together); every call logged. */
class Kernel extends RecordingDataplane implements ForwarderDataplane {
  readonly links = new Map<string, VethEnd>();
  ledger?: (alias: string) => { netns: string; name: string }[];
  async createVeth(spec: Parameters<ForwarderDataplane['createVeth']>[0]) {
    this.log('createVeth', spec);
    const a = `${spec.netns}/${spec.name}`;
    const b = `${spec.peerNetns}/${spec.peerName}`;
    if (this.links.has(a) || this.links.has(b)) throw new AlreadyExistsError(`link ${spec.name} already exists`);
    const mtu = spec.mtu ? { mtu: spec.mtu } : {};
    this.links.set(a, { alias: spec.alias, peer: b, ...mtu });
    this.links.set(b, { alias: spec.alias, peer: a, ...mtu });
  }
  async createVxlan() {
    this.log('createVxlan');
  }
  async deleteLink(netns: string, name: string) {
    this.log('deleteLink', netns, name);
    const l = this.links.get(`${netns}/${name}`);
    if (!l) return false;
    this.links.delete(`${netns}/${name}`);
    this.links.delete(l.peer);
    return true;
  }
  async linkInfo(netns: string, name: string) {
    const l = this.links.get(`${netns}/${name}`);
    return l ? { alias: l.alias, kind: 'veth' } : undefined;
  }
  linksTagged(alias: string) {
    return this.ledger?.(alias) ?? [];
  }
}

interface EndpointOpts extends EndpointBehaviour {
  rename?: boolean;
}

/** A local endpoint answering the forwarder's KERNEL offer with its namespace (each answer as `endpoint()` says now). */
function setup() {
  const dp = new Kernel();
  const { rec, seen, endpoint } = fakeLocalEndpoint<EndpointOpts>(dp.links, (req, b) => {
    const offered = req.mechanismPreferences[0]!;
    return kernelMechanism({ ...offered.parameters, [P.name]: b.rename ? 'eth-own' : offered.parameters[P.name]!, [P.inodeURL]: b.netns ?? NSE_NS });
  });
  const handler = chain(begin(), nextUrlIs(NSE_URL), forwarderMechanisms({ underlayIp: UNDERLAY, mechanisms: MECHANISMS }), programDataplane(dp, { underlayIp: UNDERLAY, mechanisms: MECHANISMS }), rec);
  const request = (id: string, ifname = 'nsm-1', opts: { endpoint?: string; mtu?: number; origin?: string } = {}) =>
    handler.request(
      NetworkServiceRequest.fromPartial({
        connection: {
          id,
          networkServiceEndpointName: opts.endpoint ?? 'nse-1',
          ...(opts.mtu ? { context: { MTU: opts.mtu } } : {}),
          ...(opts.origin ? { path: { index: 0, pathSegments: [{ name: opts.origin, id }] } } : {}),
        },
        mechanismPreferences: [kernelMechanism({ [P.name]: ifname, [P.inodeURL]: CLIENT_NS })],
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

const alias = (id: string) => `${ALIAS_PREFIX}${id}`;

/** Runs `fn` with NSM_EARLY_VETH=main (the earlier way: an idle forwarder makes the pair on its own thread). */
async function onMainThread(fn: () => Promise<void>): Promise<void> {
  const saved = process.env.NSM_EARLY_VETH;
  process.env.NSM_EARLY_VETH = 'main';
  try {
    await fn();
  } finally {
    if (saved === undefined) delete process.env.NSM_EARLY_VETH;
    else process.env.NSM_EARLY_VETH = saved;
  }
}

const vethSends = (dp: Kernel) => dp.named('createVeth').map(([spec]) => [(spec as { name: string }).name, (spec as { background: boolean }).background]);

describe('early veth (local KERNEL<->KERNEL)', () => {
  it('makes the veth from a worker thread, alone in flight or not', async () => {
    const { dp, request } = setup();
    await request(ids[0]!, 'nsm-1');
    dp.reset();
    await request(ids[1]!, 'nsm-2');
    await Promise.all([request(ids[2]!, 'nsm-3'), request(ids[3]!, 'nsm-4')]);
    assert.deepEqual(vethSends(dp).sort(), [
      ['nsm-2', true],
      ['nsm-3', true],
      ['nsm-4', true],
    ]);
  });

  it('NSM_EARLY_VETH=main: from a worker thread while other Requests are in flight (aheadOfAnswer), on this thread when alone', () => onMainThread(async () => {
    const { dp, request } = setup();
    await request(ids[0]!, 'nsm-1');
    dp.reset();
    await Promise.all([request(ids[1]!, 'nsm-2'), request(ids[2]!, 'nsm-3')]);
    assert.deepEqual(
      dp.named('createVeth').map(([spec]) => [(spec as { name: string }).name, (spec as { background: boolean }).background]).sort(),
      [
        ['nsm-2', false],
        ['nsm-3', true],
      ],
    );
  }));

  it('NSM_EARLY_VETH=main: toward an endpoint seen requesting onward through this forwarder while its Request was pending (a chain link), from a worker thread', () => onMainThread(async () => {
    const { dp, request, endpoint } = setup();
    await request(ids[0]!, 'nsm-1');
    // nse-1 acts as a passthrough: while the forwarder waits for its answer, it requests onward as client "nse-1".
    endpoint({ onward: () => request(ids[3]!, 'pto-1', { origin: 'nse-1' }) });
    await request(ids[1]!, 'nsm-2');
    dp.reset();
    endpoint({});
    await request(ids[2]!, 'nsm-3');
    assert.deepEqual(
      dp.named('createVeth').map(([spec]) => [(spec as { name: string }).name, (spec as { background: boolean }).background]),
      [['nsm-3', true]],
      'alone in flight, yet its onward Request must not wait for this thread',
    );
  }));

  it("NSM_EARLY_VETH=main: an onward Request of a chain link makes its links on this thread: the Request waiting for the link is no other work", () => onMainThread(async () => {
    const { dp, request, endpoint } = setup();
    await request(ids[0]!, 'nsm-1');
    endpoint({ onward: () => request(ids[3]!, 'pto-1', { origin: 'nse-1', endpoint: 'nse-2' }) });
    await request(ids[1]!, 'nsm-2');
    dp.reset();
    endpoint({ onward: () => request(ids[4]!, 'pto-2', { origin: 'nse-1', endpoint: 'nse-2' }) });
    await request(ids[2]!, 'nsm-3');
    assert.deepEqual(
      dp.named('createVeth').map(([spec]) => [(spec as { name: string }).name, (spec as { background: boolean }).background]),
      [
        ['nsm-3', true],
        ['pto-2', false],
      ],
    );
  }));

  it('the first Request to an endpoint programs after the answer; the next one finds its veth made before the answer', async () => {
    const { dp, seen, request } = setup();
    await request(ids[0]!, 'nsm-1');
    assert.equal(seen.linksWhenAsked, 0, 'nothing is known about the endpoint yet');
    dp.reset();
    await request(ids[1]!, 'nsm-2');
    assert.equal(seen.linksWhenAsked, 4, 'the second pair existed before the endpoint answered');
    const peerName = endpointIfName(ids[1]!);
    assert.deepEqual(dp.named('createVeth'), [[{ name: 'nsm-2', netns: CLIENT_NS, peerName, peerNetns: NSE_NS, alias: alias(ids[1]!), background: true }]], 'made from a worker thread');
    assert.deepEqual(dp.named('addAddress'), [
      [CLIENT_NS, 'nsm-2', '169.254.2.1/32'],
      [NSE_NS, peerName, '169.254.2.0/32'],
    ]);
    assert.deepEqual(dp.named('addRoute'), [
      [CLIENT_NS, { prefix: '169.254.2.0/32', dev: 'nsm-2' }],
      [NSE_NS, { prefix: '169.254.2.1/32', dev: peerName }],
    ]);
    assert.deepEqual(dp.named('deleteLink'), []);
  });

  it('an answer from another namespace removes the prepared pair, programs anew and forgets the endpoint until it answers again', async () => {
    const { dp, seen, request, endpoint } = setup();
    await request(ids[0]!, 'nsm-1');
    endpoint({ netns: OTHER_NS });
    dp.reset();
    await request(ids[1]!, 'nsm-2');
    assert.equal(seen.linksWhenAsked, 4, 'prepared where the last answer said');
    const peerName = endpointIfName(ids[1]!);
    assert.deepEqual(
      dp.named('createVeth').map((c) => (c[0] as { peerNetns: string }).peerNetns),
      [NSE_NS, OTHER_NS],
    );
    assert.deepEqual(dp.named('deleteLink'), [[CLIENT_NS, 'nsm-2']]);
    assert.ok(!dp.links.has(`${NSE_NS}/${peerName}`), 'nothing stays in the namespace that was guessed');
    assert.ok(dp.links.has(`${OTHER_NS}/${peerName}`));
    await request(ids[2]!, 'nsm-3');
    assert.equal(seen.linksWhenAsked, 4, 'an answer that differed dropped what was learned');
    await request(ids[3]!, 'nsm-4');
    assert.equal(seen.linksWhenAsked, 8, 'learned again from the answer after that');
  });

  it('a Request that fails downstream removes the prepared pair and forgets the endpoint', async () => {
    const { dp, seen, request, endpoint } = setup();
    await request(ids[0]!, 'nsm-1');
    endpoint({ fail: new Error('no endpoint') });
    await assert.rejects(request(ids[1]!, 'nsm-2'), /no endpoint/);
    assert.equal(seen.linksWhenAsked, 4);
    assert.equal(dp.links.size, 2, 'only the first connection\'s pair stays');
    endpoint({});
    await request(ids[2]!, 'nsm-3');
    assert.equal(seen.linksWhenAsked, 2, 'not prepared after the failure');
  });

  it('a failure finishing it removes the pair and closes downstream', async () => {
    const { dp, rec, seen, request } = setup();
    await request(ids[0]!, 'nsm-1');
    dp.fail = (m) => (m === 'addAddress' ? new Error('EINVAL') : undefined);
    await assert.rejects(request(ids[1]!, 'nsm-2'), /EINVAL/);
    assert.equal(seen.linksWhenAsked, 4, 'it was prepared');
    assert.equal(dp.links.size, 2, 'nothing half-made stays: only the first connection\'s pair');
    assert.ok(!dp.links.has(`${CLIENT_NS}/nsm-2`));
    assert.equal(rec.closes.length, 1, 'the next hop was closed');
  });

  it('a refresh of an existing connection prepares nothing', async () => {
    const { dp, seen, request } = setup();
    await request(ids[0]!, 'nsm-1');
    await request(ids[1]!, 'nsm-2');
    dp.reset();
    // The refresh's answer carries another IP context, so it is programmed again, after the answer.
    await request(ids[1]!, 'nsm-2');
    assert.equal(seen.linksWhenAsked, 4, 'no third pair before the answer');
    assert.deepEqual(dp.named('deleteLink'), [[CLIENT_NS, 'nsm-2']]);
    assert.equal(dp.named('createVeth').length, 1);
  });

  it('links the ledger already holds for the connection (an earlier life\'s) are not prepared over', async () => {
    const { dp, seen, request } = setup();
    await request(ids[0]!, 'nsm-1');
    dp.ledger = (a) => (a === alias(ids[1]!) ? [{ netns: CLIENT_NS, name: 'nsm-2' }] : []);
    await request(ids[1]!, 'nsm-2');
    assert.equal(seen.linksWhenAsked, 2);
  });

  it('another endpoint (name or URL) is not predicted from this one', async () => {
    const { seen, request } = setup();
    await request(ids[0]!, 'nsm-1');
    await request(ids[1]!, 'nsm-2', { endpoint: 'nse-9' });
    assert.equal(seen.linksWhenAsked, 2);
  });

  it('an MTU the endpoint sets is learned and used', async () => {
    const { dp, seen, request, endpoint } = setup();
    endpoint({ mtu: 1400 });
    await request(ids[0]!, 'nsm-1');
    dp.reset();
    await request(ids[1]!, 'nsm-2');
    assert.equal(seen.linksWhenAsked, 4);
    assert.deepEqual(
      dp.named('createVeth').map((c) => (c[0] as { mtu?: number }).mtu),
      [1400],
    );
  });

  it('a name taken by something else is not prepared; the usual path refuses it and leaves it alone', async () => {
    const { dp, request } = setup();
    await request(ids[0]!, 'nsm-1');
    dp.links.set(`${CLIENT_NS}/nsm-2`, { alias: 'theirs', peer: 'elsewhere/x' });
    await assert.rejects(request(ids[1]!, 'nsm-2'), /already exists/);
    assert.equal(dp.links.get(`${CLIENT_NS}/nsm-2`)?.alias, 'theirs');
    assert.equal(dp.links.size, 3);
  });

  it('Close removes a pair that was prepared', async () => {
    const { dp, request, close } = setup();
    await request(ids[0]!, 'nsm-1');
    const conn = await request(ids[1]!, 'nsm-2');
    await close(conn);
    assert.equal(dp.links.size, 2);
  });
});

describe('EarlyVeths (the cache)', () => {
  it('keys only endpoints on this node', () => {
    assert.equal(localEndpointKey('nse-1', 'unix:///run/x.sock'), 'nse-1\u0000unix:///run/x.sock');
    assert.equal(localEndpointKey('nse-1', 'tcp://198.18.0.2:5001'), undefined);
    assert.equal(localEndpointKey(undefined, 'unix:///run/x.sock'), undefined);
    assert.equal(localEndpointKey('nse-1', 'unix://relative'), undefined);
  });

  it('learns the first answer, drops one that differs, and learns again after that', () => {
    const c = new EarlyVeths(MECHANISMS);
    const offer: Mechanism = kernelMechanism({ [P.name]: 'nsm-x' });
    const answer = (netns: string, name = 'nsm-x') => kernelMechanism({ [P.name]: name, [P.inodeURL]: netns });
    c.observe('k', offer, answer(NSE_NS), undefined, undefined);
    assert.equal(c.size, 1);
    c.observe('k', offer, answer(NSE_NS), undefined, undefined);
    assert.equal(c.size, 1);
    c.observe('k', offer, answer(OTHER_NS), undefined, undefined);
    assert.equal(c.size, 0, 'another namespace drops it');
    c.observe('k', offer, answer(OTHER_NS), undefined, undefined);
    assert.equal(c.size, 1);
    c.observe('k', offer, answer(OTHER_NS), undefined, 1400);
    assert.equal(c.size, 0, 'an MTU of its own drops it');
    c.observe('k', offer, answer(OTHER_NS, 'eth0'), undefined, undefined);
    assert.equal(c.size, 0, 'a renamed interface is never learned');
    c.observe('k', offer, answer(OTHER_NS), undefined, undefined);
    c.forget('k');
    assert.equal(c.size, 0);
  });
});
