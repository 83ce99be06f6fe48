import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection, NetworkServiceRequest, type Mechanism } from '../../../src/api/index.js';
import { begin } from '../../../src/sdk/core/begin.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { AlreadyExistsError, FailedPreconditionError, Status } from '../../../src/api/errors.js';
import { endpointIfName, forwarderMechanisms } from '../../../src/sdk/networkservice/forwarder-mechanisms.js';
import { isKernel, kernelMechanism, P, vxlanMechanism } from '../../../src/sdk/tools/mechanisms.js';
import { ALIAS_PREFIX, programDataplane, type ExistingLink, type ForwarderDataplane } from '../../../src/sdk/networkservice/program-dataplane.js';
import { mechanismRegistry } from '../../../src/dataplane/mechanisms/index.js';
import { capturingLogger, hasCode, nextUrlIs, recorder } from './helpers.js';

const MECHANISMS = mechanismRegistry();

const UNDERLAY = '198.18.0.1';
const REMOTE_UNDERLAY = '198.18.0.2';
const CLIENT_NS = 'file:///proc/100/ns/net';
const EP_NS = 'file:///proc/200/ns/net';
const ID = '0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9';
const EP_IF = endpointIfName(ID);

/** A fake kernel: links by "netns/name" (a veth is two links that die together), every call logged. */
class FakeDataplane implements ForwarderDataplane {
  linksTagged?: (alias: string) => { netns: string; name: string }[];
  readonly calls: [string, ...unknown[]][] = [];
  readonly links = new Map<string, { peer?: string; spec: unknown }>();
  fail?: (method: string, args: unknown[]) => Error | undefined;

  private check(method: string, ...args: unknown[]) {
    this.calls.push([method, ...args]);
    const err = this.fail?.(method, args);
    if (err) throw err;
  }
  private exists(netns: string, name: string) {
    if (this.links.has(`${netns}/${name}`)) throw new AlreadyExistsError(`link ${name} already exists in ${netns}`);
  }
  async createVeth(spec: Parameters<ForwarderDataplane['createVeth']>[0]) {
    this.check('createVeth', spec);
    this.exists(spec.netns, spec.name);
    this.exists(spec.peerNetns, spec.peerName);
    const a = `${spec.netns}/${spec.name}`;
    const b = `${spec.peerNetns}/${spec.peerName}`;
    this.links.set(a, { peer: b, spec });
    this.links.set(b, { peer: a, spec });
  }
  async createVxlan(spec: Parameters<ForwarderDataplane['createVxlan']>[0]) {
    this.check('createVxlan', spec);
    this.exists(spec.targetNetns, spec.name);
    this.links.set(`${spec.targetNetns}/${spec.name}`, { spec });
  }
  async addAddress(netns: string, ifname: string, cidr: string) {
    this.check('addAddress', netns, ifname, cidr);
  }
  async addRoute(netns: string, route: { prefix: string; via?: string; dev: string }) {
    this.check('addRoute', netns, route);
  }
  async deleteLink(netns: string, name: string) {
    this.check('deleteLink', netns, name);
    const l = this.links.get(`${netns}/${name}`);
    if (!l) return false;
    this.links.delete(`${netns}/${name}`);
    if (l.peer) this.links.delete(l.peer);
    return true;
  }
  /** Like KernelDriver.linkInfo: alias and kind (and VNI/remote for a vxlan) of the link under that name. */
  async linkInfo(netns: string, name: string): Promise<ExistingLink | undefined> {
    this.check('linkInfo', netns, name);
    const l = this.links.get(`${netns}/${name}`);
    if (!l) return undefined;
    const spec = l.spec as { alias?: string; vni?: number; remote?: string } | string;
    if (typeof spec === 'string') return { alias: 'someone else', kind: 'dummy' };
    return l.peer ? { alias: spec.alias!, kind: 'veth' } : { alias: spec.alias!, kind: 'vxlan', vni: spec.vni!, remote: spec.remote! };
  }
  named(method: string) {
    return this.calls.filter((c) => c[0] === method).map((c) => c.slice(1));
  }
}

interface Ip {
  src: string;
  dst: string;
}

/** The next hop: a kernel endpoint (local) or a remote forwarder, answering with an IP context. */
function nextHop(ip: { current: Ip }) {
  return recorder({
    onRequest(req) {
      const offered = req.mechanismPreferences[0]!;
      const conn = req.connection!;
      conn.mechanism = isKernel(offered)
        ? kernelMechanism({ ...offered.parameters, [P.inodeURL]: EP_NS })
        : vxlanMechanism({ ...offered.parameters, [P.dstIp]: REMOTE_UNDERLAY });
      conn.context = {
        ipContext: {
          srcIpAddrs: [ip.current.src],
          dstIpAddrs: [ip.current.dst],
          srcRoutes: [{ prefix: ip.current.dst, nextHop: '' }],
          dstRoutes: [{ prefix: ip.current.src, nextHop: '' }],
          srcIpRequired: false,
          dstIpRequired: false,
          excludedPrefixes: [],
          ipNeighbors: [],
          extraPrefixRequest: [],
          extraPrefixes: [],
        },
        dnsContext: undefined,
        ethernetContext: undefined,
        extraContext: {},
        MTU: 0,
      };
    },
  });
}

function setup(url: string) {
  const dp = new FakeDataplane();
  const ip = { current: { src: '169.254.0.1/32', dst: '169.254.0.0/32' } };
  const rec = nextHop(ip);
  const handler = chain(begin(), nextUrlIs(url), forwarderMechanisms({ underlayIp: UNDERLAY, mechanisms: MECHANISMS }), programDataplane(dp, { underlayIp: UNDERLAY, mechanisms: MECHANISMS }), rec);
  return { dp, ip, rec, handler };
}

const CLIENT_KERNEL = kernelMechanism({ [P.name]: 'nsm-1', [P.inodeURL]: CLIENT_NS });
const REMOTE_VXLAN = vxlanMechanism({ [P.srcIp]: REMOTE_UNDERLAY, [P.vni]: '777' });
const req = (prefs: Mechanism[]) => NetworkServiceRequest.fromPartial({ connection: { id: ID }, mechanismPreferences: prefs });
const refresh = (conn: Connection) => NetworkServiceRequest.fromPartial({ connection: conn, mechanismPreferences: [] });

describe('program-dataplane', () => {
  it('KERNEL->KERNEL: one veth between the namespaces, addresses and routes on both sides', async () => {
    const { dp, handler } = setup('unix:///run/nsm/nse.sock');
    await handler.request(req([CLIENT_KERNEL]), newCtx());
    assert.deepEqual(dp.named('createVeth'), [[{ name: 'nsm-1', netns: CLIENT_NS, peerName: EP_IF, peerNetns: EP_NS, alias: `${ALIAS_PREFIX}${ID}` }]]);
    assert.deepEqual(dp.named('createVxlan'), []);
    const sorted = (xs: unknown[][]) => xs.map((x) => JSON.stringify(x)).sort();
    assert.deepEqual(sorted(dp.named('addAddress')), sorted([
      [CLIENT_NS, 'nsm-1', '169.254.0.1/32'],
      [EP_NS, EP_IF, '169.254.0.0/32'],
    ]));
    assert.deepEqual(sorted(dp.named('addRoute')), sorted([
      [CLIENT_NS, { prefix: '169.254.0.0/32', dev: 'nsm-1' }],
      [EP_NS, { prefix: '169.254.0.1/32', dev: EP_IF }],
    ]));
    assert.deepEqual([...dp.links.keys()].sort(), [`${CLIENT_NS}/nsm-1`, `${EP_NS}/${EP_IF}`].sort());
  });

  it('KERNEL->VXLAN: a vxlan in the client namespace towards the remote underlay', async () => {
    const { dp, rec, handler } = setup('tcp://198.18.0.2:5001');
    await handler.request(req([CLIENT_KERNEL]), newCtx());
    const vni = Number(rec.requests[0]!.req.mechanismPreferences[0]!.parameters[P.vni]);
    assert.deepEqual(dp.named('createVxlan'), [[{ name: 'nsm-1', targetNetns: CLIENT_NS, vni, local: UNDERLAY, remote: REMOTE_UNDERLAY, alias: `${ALIAS_PREFIX}${ID}`, mtu: 1450 }]]);
    assert.deepEqual(dp.named('addAddress'), [[CLIENT_NS, 'nsm-1', '169.254.0.1/32']]);
    assert.deepEqual(dp.named('addRoute'), [[CLIENT_NS, { prefix: '169.254.0.0/32', dev: 'nsm-1' }]]);
    assert.deepEqual(dp.named('createVeth'), []);
  });

  it('VXLAN->KERNEL: a vxlan in the endpoint namespace with the proposed VNI towards the caller', async () => {
    const { dp, handler } = setup('unix:///run/nsm/nse.sock');
    const out = await handler.request(req([REMOTE_VXLAN]), newCtx());
    assert.equal(out.mechanism!.parameters[P.dstIp], UNDERLAY, 'the caller learns our underlay');
    assert.deepEqual(dp.named('createVxlan'), [[{ name: EP_IF, targetNetns: EP_NS, vni: 777, local: UNDERLAY, remote: REMOTE_UNDERLAY, alias: `${ALIAS_PREFIX}${ID}`, mtu: 1450 }]]);
    assert.deepEqual(dp.named('addAddress'), [[EP_NS, EP_IF, '169.254.0.0/32']]);
    assert.deepEqual(dp.named('addRoute'), [[EP_NS, { prefix: '169.254.0.1/32', dev: EP_IF }]]);
  });

  it('the connection MTU caps the vxlan MTU and is passed to the veth', async () => {
    const { dp, rec, handler } = setup('tcp://198.18.0.2:5001');
    const orig = rec.request;
    rec.request = async (r, ctx, next) => {
      const out = await orig(r, ctx, next);
      out.context!.MTU = 1400;
      return out;
    };
    await handler.request(req([CLIENT_KERNEL]), newCtx());
    assert.equal((dp.named('createVxlan')[0]![0] as { mtu: number }).mtu, 1400);
  });

  it('a refresh with the same inputs does nothing; changed inputs re-program', async () => {
    const { dp, ip, handler } = setup('unix:///run/nsm/nse.sock');
    const first = await handler.request(req([CLIENT_KERNEL]), newCtx());
    const n = dp.calls.length;
    const second = await handler.request(refresh(first), newCtx());
    assert.equal(dp.calls.length, n, `no kernel calls on an unchanged refresh: ${JSON.stringify(dp.calls.slice(n))}`);
    ip.current = { src: '169.254.0.3/32', dst: '169.254.0.2/32' };
    await handler.request(refresh(second), newCtx());
    const after = dp.calls.slice(n).map((c) => c[0]);
    assert.deepEqual(after.slice(0, 2), ['deleteLink', 'createVeth']);
    assert.deepEqual(after.slice(2).sort(), ['addAddress', 'addAddress', 'addRoute', 'addRoute'], 'both sides configured (in any order)');
    assert.deepEqual(dp.calls[n]!.slice(1), [CLIENT_NS, 'nsm-1']);
    assert.equal(dp.links.size, 2);
  });

  it('a failure closes downstream and leaves nothing', async () => {
    const { dp, rec, handler } = setup('unix:///run/nsm/nse.sock');
    dp.fail = (m, args) => (m === 'addAddress' && args[1] === EP_IF ? new Error('EPERM') : undefined);
    await assert.rejects(handler.request(req([CLIENT_KERNEL]), newCtx()), /EPERM/);
    assert.equal(dp.links.size, 0, `left behind: ${[...dp.links.keys()].join(', ')}`);
    assert.equal(rec.closes.length, 1, 'the next hop was closed');
    assert.equal(rec.closes[0]!.conn.mechanism!.type, 'KERNEL');
  });

  it('a failure creating the link closes downstream too', async () => {
    const { dp, rec, handler } = setup('tcp://198.18.0.2:5001');
    dp.fail = (m) => (m === 'createVxlan' ? new Error('ENODEV') : undefined);
    await assert.rejects(handler.request(req([CLIENT_KERNEL]), newCtx()), /ENODEV/);
    assert.equal(dp.links.size, 0);
    assert.equal(rec.closes.length, 1);
  });

  it('an "already exists" link that is not ours is refused with ALREADY_EXISTS and left alone', async () => {
    const { dp, rec, handler } = setup('unix:///run/nsm/nse.sock');
    dp.links.set(`${CLIENT_NS}/nsm-1`, { spec: 'leftover' });
    await assert.rejects(handler.request(req([CLIENT_KERNEL]), newCtx()), hasCode(Status.ALREADY_EXISTS, /interface "nsm-1" already exists .*something outside this connection/));
    assert.deepEqual(dp.named('deleteLink'), []);
    assert.equal(dp.links.get(`${CLIENT_NS}/nsm-1`)!.spec, 'leftover');
    assert.equal(rec.closes.length, 1, 'the next hop is closed');
  });

  it('a second connection asking for the same interface name in the same namespace is ALREADY_EXISTS; a refresh of the first is fine', async () => {
    const { dp, handler } = setup('unix:///run/nsm/nse.sock');
    const first = await handler.request(req([CLIENT_KERNEL]), newCtx());
    const before = dp.links.get(`${CLIENT_NS}/nsm-1`);
    const second = NetworkServiceRequest.fromPartial({ connection: { id: 'conn-2' }, mechanismPreferences: [CLIENT_KERNEL] });
    await assert.rejects(handler.request(second, newCtx()), hasCode(Status.ALREADY_EXISTS, new RegExp(`used by connection ${ID}`)));
    assert.equal(dp.links.get(`${CLIENT_NS}/nsm-1`), before, 'the first connection keeps its interface');
    await handler.request(refresh(first), newCtx());
    assert.equal(dp.links.get(`${CLIENT_NS}/nsm-1`), before);
  });

  it('a link this connection was making when the forwarder died (recorded, not yet tagged) is replaced', async () => {
    const { dp, handler } = setup('unix:///run/nsm/nse.sock');
    dp.links.set(`${CLIENT_NS}/nsm-1`, { spec: { alias: '' }, peer: `${EP_NS}/${EP_IF}` });
    dp.links.set(`${EP_NS}/${EP_IF}`, { spec: { alias: '' }, peer: `${CLIENT_NS}/nsm-1` });
    dp.linksTagged = (alias: string) => (alias === `${ALIAS_PREFIX}${ID}` ? [{ netns: CLIENT_NS, name: 'nsm-1' }] : []);
    await handler.request(req([CLIENT_KERNEL]), newCtx());
    assert.deepEqual(dp.named('deleteLink')[0], [CLIENT_NS, 'nsm-1']);
    assert.equal((dp.links.get(`${CLIENT_NS}/nsm-1`)!.spec as { alias: string }).alias, `${ALIAS_PREFIX}${ID}`);
  });

  it('a leftover veth of this connection (a restarted forwarder) is adopted in place: no delete, addresses and routes re-applied', async () => {
    const { dp, handler } = setup('unix:///run/nsm/nse.sock');
    await handler.request(req([CLIENT_KERNEL]), newCtx());
    const before = dp.links.get(`${CLIENT_NS}/nsm-1`);
    // A new forwarder (no per-connection state) gets the same connection again.
    const fresh = chain(begin(), nextUrlIs('unix:///run/nsm/nse.sock'), forwarderMechanisms({ underlayIp: UNDERLAY, mechanisms: MECHANISMS }), programDataplane(dp, { underlayIp: UNDERLAY, mechanisms: MECHANISMS }), nextHop({ current: { src: '169.254.0.1/32', dst: '169.254.0.0/32' } }));
    dp.calls.length = 0;
    await fresh.request(req([CLIENT_KERNEL]), newCtx());
    assert.deepEqual(dp.named('deleteLink'), [], 'nothing deleted');
    assert.equal(dp.named('createVeth').length, 1, 'one attempt, which found the link');
    assert.deepEqual(dp.named('linkInfo').map((c) => c.join('/')).sort(), [`${CLIENT_NS}/nsm-1`, `${EP_NS}/${EP_IF}`].sort(), 'both ends checked');
    assert.equal(dp.links.get(`${CLIENT_NS}/nsm-1`), before, 'the very same link (same MAC)');
    assert.equal(dp.named('addAddress').length, 2);
    assert.equal(dp.named('addRoute').length, 2);
  });

  it('a leftover vxlan with the same VNI and remote is adopted; another VNI is re-created', async () => {
    const { dp, rec, handler } = setup('tcp://198.18.0.2:5001');
    await handler.request(req([CLIENT_KERNEL]), newCtx());
    const vni = Number(rec.requests[0]!.req.mechanismPreferences[0]!.parameters[P.vni]);
    const before = dp.links.get(`${CLIENT_NS}/nsm-1`);
    // The remote forwarder answers with the VNI the connection has: same link.
    const again = (answerVni: number) => {
      const next = nextHop({ current: { src: '169.254.0.1/32', dst: '169.254.0.0/32' } });
      const orig = next.request;
      next.request = async (r, ctx, n) => {
        const out = await orig(r, ctx, n);
        out.mechanism!.parameters[P.vni] = String(answerVni);
        return out;
      };
      return chain(begin(), nextUrlIs('tcp://198.18.0.2:5001'), forwarderMechanisms({ underlayIp: UNDERLAY, mechanisms: MECHANISMS }), programDataplane(dp, { underlayIp: UNDERLAY, mechanisms: MECHANISMS }), next);
    };
    dp.calls.length = 0;
    await again(vni).request(req([CLIENT_KERNEL]), newCtx());
    assert.deepEqual(dp.named('deleteLink'), []);
    assert.equal(dp.links.get(`${CLIENT_NS}/nsm-1`), before);
    assert.deepEqual(dp.named('addAddress'), [[CLIENT_NS, 'nsm-1', '169.254.0.1/32']]);
    dp.calls.length = 0;
    await again(vni + 1).request(req([CLIENT_KERNEL]), newCtx());
    assert.deepEqual(dp.named('deleteLink'), [[CLIENT_NS, 'nsm-1']]);
    assert.equal((dp.links.get(`${CLIENT_NS}/nsm-1`)!.spec as { vni: number }).vni, vni + 1);
  });

  it('a link under our name that carries another connection\'s alias is refused, not deleted', async () => {
    const { dp, handler } = setup('unix:///run/nsm/nse.sock');
    dp.links.set(`${CLIENT_NS}/nsm-1`, { spec: { alias: `${ALIAS_PREFIX}another-connection` }, peer: 'elsewhere/x' });
    await assert.rejects(handler.request(req([CLIENT_KERNEL]), newCtx()), hasCode(Status.ALREADY_EXISTS, /used by connection another-connection/));
    assert.deepEqual(dp.named('deleteLink'), []);
  });

  it('a veth of ours whose other end is missing is re-created', async () => {
    const { dp, handler } = setup('unix:///run/nsm/nse.sock');
    dp.links.set(`${CLIENT_NS}/nsm-1`, { spec: { alias: `${ALIAS_PREFIX}${ID}` }, peer: `elsewhere/${EP_IF}` });
    await handler.request(req([CLIENT_KERNEL]), newCtx());
    assert.ok(dp.named('deleteLink').some((c) => c[1] === 'nsm-1'));
    assert.equal(dp.links.get(`${CLIENT_NS}/nsm-1`)!.peer, `${EP_NS}/${EP_IF}`);
  });

  it('other FailedPreconditionErrors are not treated as leftovers', async () => {
    const { dp, handler } = setup('unix:///run/nsm/nse.sock');
    dp.fail = (m) => (m === 'createVeth' ? new FailedPreconditionError('namespace is gone') : undefined);
    await assert.rejects(handler.request(req([CLIENT_KERNEL]), newCtx()), hasCode(Status.FAILED_PRECONDITION, /namespace is gone/));
    assert.deepEqual(dp.named('deleteLink'), []);
  });

  it('close removes exactly what was created, after closing downstream', async () => {
    const { dp, rec, handler } = setup('tcp://198.18.0.2:5001');
    const conn = await handler.request(req([CLIENT_KERNEL]), newCtx());
    dp.links.set('other/nsm-x', { spec: 'someone else' });
    const n = dp.calls.length;
    await handler.close(conn, newCtx());
    assert.deepEqual(dp.calls.slice(n), [['deleteLink', CLIENT_NS, 'nsm-1']]);
    assert.deepEqual([...dp.links.keys()], ['other/nsm-x']);
    assert.equal(rec.closes.length, 1);
  });

  it('close logs "data plane removed" only when every deletion worked; a failed one is a warning with its error', async () => {
    const { dp, handler } = setup('tcp://198.18.0.2:5001');
    const conn = await handler.request(req([CLIENT_KERNEL]), newCtx());
    dp.fail = (m) => (m === 'deleteLink' ? new FailedPreconditionError('kernel said no') : undefined);
    const { log, lines } = capturingLogger();
    await handler.close(conn, newCtx({ log }));
    assert.equal(lines.filter((l) => l['msg'] === 'data plane removed').length, 0);
    const warn = lines.find((l) => l['msg'] === 'data plane removal failed');
    assert.ok(warn, JSON.stringify(lines));
    assert.match(String((warn['err'] as { message?: string }).message), /kernel said no/);
    dp.fail = undefined;
    dp.links.clear();
    const ok = await handler.request(req([CLIENT_KERNEL]), newCtx());
    const second = capturingLogger();
    await handler.close(ok, newCtx({ log: second.log }));
    assert.equal(second.lines.filter((l) => l['msg'] === 'data plane removed').length, 1);
  });

  it('close without state (a restarted forwarder) removes the links the dataplane recorded for the connection', async () => {
    const { dp, rec, handler } = setup('unix:///run/nsm/nse.sock');
    const asked: string[] = [];
    const fake = dp as FakeDataplane & { linksTagged(alias: string): { netns: string; name: string }[] };
    fake.linksTagged = (alias) => {
      asked.push(alias);
      return [{ netns: CLIENT_NS, name: 'nsm-1' }];
    };
    dp.links.set(`${CLIENT_NS}/nsm-1`, { spec: 'from an earlier life' });
    await handler.close(Connection.fromPartial({ id: ID }), newCtx());
    assert.deepEqual(asked, [`${ALIAS_PREFIX}${ID}`]);
    assert.deepEqual(dp.named('deleteLink'), [[CLIENT_NS, 'nsm-1']]);
    assert.equal(dp.links.size, 0);
    assert.equal(rec.closes.length, 1);
  });

  it('an endpoint that does not say where its interface goes is FAILED_PRECONDITION', async () => {
    const dp = new FakeDataplane();
    const rec = recorder({
      onRequest(r) {
        r.connection!.mechanism = kernelMechanism({ [P.name]: 'x' });
      },
    });
    const handler = chain(begin(), nextUrlIs('unix:///nse.sock'), forwarderMechanisms({ underlayIp: UNDERLAY, mechanisms: MECHANISMS }), programDataplane(dp, { underlayIp: UNDERLAY, mechanisms: MECHANISMS }), rec);
    await assert.rejects(handler.request(req([CLIENT_KERNEL]), newCtx()), hasCode(Status.FAILED_PRECONDITION, /inodeURL/));
    assert.equal(rec.closes.length, 1);
  });

  it('a next hop returning no mechanism is FAILED_PRECONDITION and is closed', async () => {
    const dp = new FakeDataplane();
    const rec = recorder({
      onRequest(r) {
        r.connection!.mechanism = undefined;
      },
    });
    const handler = chain(begin(), nextUrlIs('unix:///nse.sock'), forwarderMechanisms({ underlayIp: UNDERLAY, mechanisms: MECHANISMS }), programDataplane(dp, { underlayIp: UNDERLAY, mechanisms: MECHANISMS }), rec);
    await assert.rejects(handler.request(req([CLIENT_KERNEL]), newCtx()), hasCode(Status.FAILED_PRECONDITION, /no mechanism/));
    assert.equal(rec.closes.length, 1, 'the next hop is closed, not leaked');
  });
});
