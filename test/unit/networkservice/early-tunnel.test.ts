// program-dataplane with tools/early-tunnel: on the client side of a remote connection the VXLAN interface is
// made in the client's namespace while the Request travels on (no peer yet), then finished with the peer's
// address, addresses and routes; an answer that does not fit, a failed Request or a failed finish leaves
// nothing behind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkServiceRequest, type Mechanism } from '../../../src/api/index.js';
import { AlreadyExistsError } from '../../../src/api/errors.js';
import { begin } from '../../../src/sdk/core/begin.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { forwarderMechanisms } from '../../../src/sdk/networkservice/forwarder-mechanisms.js';
import { ALIAS_PREFIX, programDataplane, type ForwarderDataplane } from '../../../src/sdk/networkservice/program-dataplane.js';
import { kernelMechanism, P, vxlanMechanism } from '../../../src/sdk/tools/mechanisms.js';
import { mechanismRegistry } from '../../../src/dataplane/mechanisms/index.js';
import { nextUrlIs, recorder } from './helpers.js';
import { numberedIpContext, RecordingDataplane } from './recording-dataplane.js';

const MECHANISMS = mechanismRegistry();
const UNDERLAY = '198.18.0.1';
const REMOTE_UNDERLAY = '198.18.0.2';
const CLIENT_NS = 'file:///proc/100/ns/net';
const ID = '0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9';
const ALIAS = `${ALIAS_PREFIX}${ID}`;
const KEY = `${CLIENT_NS}/nsm-1`;

/** A fake kernel with VXLAN links by "netns/name" that can set a VXLAN's peer afterwards; every call logged. */
class Kernel extends RecordingDataplane implements ForwarderDataplane {
  readonly links = new Map<string, { vni: number; remote?: string; alias: string; mtu?: number }>();
  async createVeth() {
    this.log('createVeth');
  }
  async createVxlan(spec: Parameters<ForwarderDataplane['createVxlan']>[0]) {
    this.log('createVxlan', spec);
    if (this.links.has(`${spec.targetNetns}/${spec.name}`)) throw new AlreadyExistsError(`link ${spec.name} already exists`);
    this.links.set(`${spec.targetNetns}/${spec.name}`, { vni: spec.vni, alias: spec.alias, ...(spec.remote ? { remote: spec.remote } : {}), ...(spec.mtu ? { mtu: spec.mtu } : {}) });
  }
  async setVxlanRemote(netns: string, name: string, remote: string) {
    this.log('setVxlanRemote', netns, name, remote);
    this.links.get(`${netns}/${name}`)!.remote = remote;
  }
  async deleteLink(netns: string, name: string) {
    this.log('deleteLink', netns, name);
    return this.links.delete(`${netns}/${name}`);
  }
  async linkInfo(netns: string, name: string) {
    const l = this.links.get(`${netns}/${name}`);
    return l ? { alias: l.alias, kind: 'vxlan', vni: l.vni, ...(l.remote ? { remote: l.remote } : {}) } : undefined;
  }
}

/** The remote forwarder: answers the first offer with its underlay (and, when asked, another VNI or mechanism). */
function setup(opts: { answerVni?: (offered: number) => number; fail?: Error; answer?: (offered: Mechanism) => Mechanism } = {}) {
  const dp = new Kernel();
  const seen: { linksWhenAsked: number } = { linksWhenAsked: -1 };
  const rec = recorder({
    async onRequest(req) {
      // Let the preparation (asynchronous, like the kernel's) run first, as a real next hop would.
      await new Promise((r) => setImmediate(r));
      seen.linksWhenAsked = dp.links.size;
      if (opts.fail) throw opts.fail;
      const offered = req.mechanismPreferences[0]!;
      const vni = Number(offered.parameters[P.vni]);
      const conn = req.connection!;
      conn.mechanism = opts.answer?.(offered) ?? vxlanMechanism({ ...offered.parameters, [P.dstIp]: REMOTE_UNDERLAY, [P.vni]: String(opts.answerVni?.(vni) ?? vni) });
      conn.context = {
        ipContext: numberedIpContext(0),
        dnsContext: undefined,
        ethernetContext: undefined,
        extraContext: {},
        MTU: 0,
      };
    },
  });
  const handler = chain(begin(), nextUrlIs('tcp://198.18.0.2:5001'), forwarderMechanisms({ underlayIp: UNDERLAY, mechanisms: MECHANISMS }), programDataplane(dp, { underlayIp: UNDERLAY, mechanisms: MECHANISMS }), rec);
  return { dp, rec, seen, handler };
}

const req = () => NetworkServiceRequest.fromPartial({ connection: { id: ID }, mechanismPreferences: [kernelMechanism({ [P.name]: 'nsm-1', [P.inodeURL]: CLIENT_NS })] });

describe('early tunnel (client-side forwarder, KERNEL->VXLAN)', () => {
  it('makes the VXLAN without a peer while the Request travels on, then sets the peer, addresses and routes', async () => {
    const { dp, rec, seen, handler } = setup();
    await handler.request(req(), newCtx());
    const vni = Number(rec.requests[0]!.req.mechanismPreferences[0]!.parameters[P.vni]);
    assert.equal(seen.linksWhenAsked, 1, 'the interface existed before the next hop answered');
    assert.deepEqual(dp.named('createVxlan'), [[{ name: 'nsm-1', targetNetns: CLIENT_NS, vni, local: UNDERLAY, alias: ALIAS, mtu: 1450, background: false }]]);
    assert.deepEqual(dp.named('setVxlanRemote'), [[CLIENT_NS, 'nsm-1', REMOTE_UNDERLAY]]);
    assert.deepEqual(dp.named('addAddress'), [[CLIENT_NS, 'nsm-1', '169.254.0.1/32']]);
    assert.deepEqual(dp.named('addRoute'), [[CLIENT_NS, { prefix: '169.254.0.0/32', dev: 'nsm-1' }]]);
    assert.deepEqual(dp.links.get(KEY), { vni, remote: REMOTE_UNDERLAY, alias: ALIAS, mtu: 1450 });
  });

  it('a Request that fails downstream removes the prepared interface', async () => {
    const { dp, seen, handler } = setup({ fail: new Error('no endpoint') });
    await assert.rejects(handler.request(req(), newCtx()), /no endpoint/);
    assert.equal(seen.linksWhenAsked, 1);
    assert.equal(dp.links.size, 0, 'nothing half-made stays');
    assert.deepEqual(dp.named('deleteLink'), [[CLIENT_NS, 'nsm-1']]);
  });

  it('an answer with another VNI drops the prepared interface and programs anew', async () => {
    const { dp, handler } = setup({ answerVni: (v) => (v % 1000) + 1 });
    await handler.request(req(), newCtx());
    const [first, second] = dp.named('createVxlan').map((c) => c[0] as { vni: number; remote?: string });
    assert.equal(first!.remote, undefined);
    assert.equal(second!.remote, REMOTE_UNDERLAY);
    assert.deepEqual(dp.named('setVxlanRemote'), []);
    assert.equal(dp.links.size, 1);
    assert.equal(dp.links.get(KEY)!.vni, second!.vni);
  });

  it('a name already taken (a leftover of this connection) is not prepared: the usual path adopts it', async () => {
    const { dp, rec, handler } = setup();
    // A first life programmed the connection; this (new) chain has no state for it.
    dp.links.set(KEY, { vni: 0, remote: REMOTE_UNDERLAY, alias: ALIAS, mtu: 1450 });
    const vniOf = () => Number(rec.requests[0]!.req.mechanismPreferences[0]!.parameters[P.vni]);
    await handler.request(req(), newCtx());
    assert.deepEqual(dp.named('setVxlanRemote'), [], 'the prepared path was not taken');
    assert.equal(dp.links.size, 1);
    assert.equal(dp.links.get(KEY)!.vni, vniOf(), 'the leftover with another VNI was replaced by the usual path');
    assert.equal(dp.links.get(KEY)!.remote, REMOTE_UNDERLAY);
  });

  it('links the ledger already holds for the connection (an earlier life, to keep in place) are not prepared anew', async () => {
    const { dp, seen, handler } = setup();
    (dp as { linksTagged?: (alias: string) => { netns: string; name: string }[] }).linksTagged = (alias) => (alias === ALIAS ? [{ netns: CLIENT_NS, name: 'nsm-1' }] : []);
    await handler.request(req(), newCtx());
    assert.equal(seen.linksWhenAsked, 0, 'nothing was made before the answer');
    assert.deepEqual(dp.named('setVxlanRemote'), []);
  });

  it('a failure finishing it removes the interface and closes downstream', async () => {
    const { dp, rec, handler } = setup();
    dp.fail = (m) => (m === 'setVxlanRemote' ? new Error('EINVAL') : undefined);
    await assert.rejects(handler.request(req(), newCtx()), /EINVAL/);
    assert.equal(dp.links.size, 0);
    assert.equal(rec.closes.length, 1, 'the next hop was closed');
  });

  it('a data plane that cannot set a VXLAN peer afterwards programs after the answer, as before', async () => {
    const { dp, seen, handler } = setup();
    (dp as { setVxlanRemote?: unknown }).setVxlanRemote = undefined;
    await handler.request(req(), newCtx());
    assert.equal(seen.linksWhenAsked, 0);
    assert.equal(dp.links.get(KEY)!.remote, REMOTE_UNDERLAY);
  });
});
