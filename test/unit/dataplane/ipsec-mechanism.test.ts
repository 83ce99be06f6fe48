// Unit: the IPSEC module's offer/accept and parameter validation: malformed addresses, ports
// and keys are INVALID_ARGUMENT naming the parameter, before anything is created.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../../src/api/errors.js';
import { ipsec } from '../../../src/dataplane/mechanisms/ipsec/index.js';
import { decodeKey, K } from '../../../src/dataplane/mechanisms/ipsec/params.js';
import type { ForwarderDataplane } from '../../../src/sdk/tools/forwarder-dataplane.js';

const env1 = { underlayIp: '198.18.0.1' };
const env2 = { underlayIp: '198.18.0.2' };

test('offer carries src_ip, a port and a 32-byte public key; accept adds the dst side; upstream keys', () => {
  const offer = ipsec.offer(env1, undefined, undefined, 'conn-a')!;
  assert.equal(offer.type, 'IPSEC');
  assert.equal(offer.parameters[K.srcIp], '198.18.0.1');
  assert.ok(Number(offer.parameters[K.srcPort]) >= 20000);
  assert.equal(decodeKey(offer.parameters[K.srcKey])!.length, 32);
  assert.equal(ipsec.check(offer, env2), undefined);
  const accepted = ipsec.accept(offer, env2, 'conn-b');
  assert.equal(accepted.parameters[K.dstIp], '198.18.0.2');
  assert.ok(accepted.parameters[K.dstPort]);
  assert.ok(accepted.parameters[K.dstKey]);
  assert.equal(ipsec.encrypts, true);
  // A refresh keeps the port.
  assert.equal(ipsec.offer(env1, offer, undefined, 'conn-a')!.parameters[K.srcPort], offer.parameters[K.srcPort]);
});

test('malformed parameters name the parameter', () => {
  const good = ipsec.offer(env1, undefined, undefined, 'conn-c')!;
  const bad = (k: string, v: string) => ipsec.check({ ...good, parameters: { ...good.parameters, [k]: v } }, env2);
  assert.match(bad(K.srcIp, 'nope')!, /"src_ip"/);
  assert.match(bad(K.srcIp, '2001:db8::1')!, /"src_ip".*IPv6/);
  assert.match(bad(K.srcPort, '70000')!, /"src_port"/);
  assert.match(bad(K.srcPort, '')!, /"src_port"/);
  assert.match(bad(K.srcKey, 'AAAA')!, /"src_public_key"/);
  assert.match(bad(K.srcKey, Buffer.alloc(31).toString('base64'))!, /"src_public_key"/);
  assert.match(bad(K.mtu, '12')!, /"mtu"/);
});

test('program refuses malformed peer parameters with INVALID_ARGUMENT before creating anything', async () => {
  const calls: string[] = [];
  const dp = new Proxy({}, { get: (_t, prop) => (...args: unknown[]) => (calls.push(String(prop)), Promise.resolve(args.length ? undefined : undefined)) }) as ForwarderDataplane;
  const offer = ipsec.offer(env1, undefined, undefined, 'conn-d')!;
  const accepted = ipsec.accept(offer, env2, 'conn-e');
  const side = { netns: 'nowhere', name: 'nsm-1', addrs: ['169.254.0.1/32'], routes: [] };
  const p = { dp, connId: 'conn-d', alias: 'nsm:conn-d', service: 's', underlayIp: '198.18.0.1' };
  for (const [k, v] of [[K.dstIp, 'x'], [K.dstPort, '0'], [K.dstKey, 'not-a-key']] as const) {
    await assert.rejects(ipsec.program(p, side, { ...accepted, parameters: { ...accepted.parameters, [k]: v } }, 'client'), (err: unknown) => err instanceof InvalidArgumentError && err.message.includes(`"${k}"`));
  }
  assert.deepEqual(calls, [], 'nothing was created');
});

test('ports: one per connection, kept on refresh, free again once released (held by count, not by a scan of every connection)', async () => {
  const { reservePort, unreservePort } = await import('../../../src/dataplane/mechanisms/ipsec/charon.js');
  const before = process.env.NSM_IPSEC_DIR;
  process.env.NSM_IPSEC_DIR = `/tmp/nsm-ipsec-unit-${process.pid}-missing`;
  try {
    assert.equal(reservePort('port-a', 21000), 21000);
    assert.notEqual(reservePort('port-b', 21000), 21000, 'taken by port-a');
    const b = reservePort('port-b');
    assert.equal(reservePort('port-a', 21000), 21000, 'a refresh keeps its own port');
    assert.equal(reservePort('port-b'), b);
    const many = new Set(Array.from({ length: 300 }, (_, i) => reservePort(`port-m${i}`, 21000 + (i % 7))));
    assert.equal(many.size, 300, 'every connection its own port');
    for (let i = 0; i < 300; i++) unreservePort(`port-m${i}`);
    assert.equal(unreservePort('port-a'), true);
    assert.equal(unreservePort('port-a'), false);
    assert.equal(reservePort('port-c', 21000), 21000, 'free again after release');
    // moving to another port frees the old one
    assert.equal(reservePort('port-c', 21001), 21001);
    assert.equal(reservePort('port-d', 21000), 21000);
    for (const id of ['port-b', 'port-c', 'port-d']) unreservePort(id);
  } finally {
    if (before === undefined) delete process.env.NSM_IPSEC_DIR;
    else process.env.NSM_IPSEC_DIR = before;
  }
});
