// The WIREGUARD mechanism module without a kernel: keys (made in memory, checked by form),
// machine-unique device names, offers and answers with upstream's parameter keys, and malformed
// parameters refused by name before anything is created.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../../src/api/errors.js';
import type { Mechanism } from '../../../src/api/index.js';
import { wireguard } from '../../../src/dataplane/mechanisms/wireguard/index.js';
import { isKey, newKeyPair, publicKeyOf } from '../../../src/dataplane/mechanisms/wireguard/keys.js';
import { deviceName, portOf } from '../../../src/dataplane/mechanisms/wireguard/names.js';
import { W } from '../../../src/dataplane/mechanisms/wireguard/params.js';
import { endpointOf } from '../../../src/dataplane/mechanisms/wireguard/uapi.js';
import type { ForwarderDataplane } from '../../../src/sdk/tools/forwarder-dataplane.js';
import type { ProgramContext, Side } from '../../../src/sdk/tools/mechanism-module.js';

const V4 = { underlayIp: '198.18.0.1' };
const V4B = { underlayIp: '198.18.0.2' };

/** A data plane that records every call (none must happen for bad input). */
function recordingDp(): { dp: ForwarderDataplane; calls: string[] } {
  const calls: string[] = [];
  const rec = (name: string) => async (...args: unknown[]) => {
    calls.push(`${name} ${JSON.stringify(args)}`);
    return undefined as never;
  };
  const dp: ForwarderDataplane = {
    createVeth: rec('createVeth'),
    createVxlan: rec('createVxlan'),
    addAddress: rec('addAddress'),
    addRoute: rec('addRoute'),
    deleteLink: rec('deleteLink'),
    linkInfo: rec('linkInfo'),
    ipLines: rec('ipLines'),
  };
  return { dp, calls };
}

const side: Side = { netns: 'file:///var/run/netns/none', name: 'nsm-1', addrs: ['169.254.1.1/32'], routes: [{ prefix: '169.254.1.0/32', nextHop: '' }] };

describe('wireguard mechanism', () => {
  it('key pairs are made in memory; a public key is derived from its private key; keys are checked by form', () => {
    const k = newKeyPair();
    assert.ok(isKey(k.privateKey) && isKey(k.publicKey));
    assert.notEqual(k.privateKey, k.publicKey);
    assert.equal(publicKeyOf(k.privateKey), k.publicKey);
    assert.notEqual(newKeyPair().privateKey, k.privateKey);
    for (const bad of ['', 'abc', k.publicKey.slice(1), `${k.publicKey.slice(0, -2)}==`, Buffer.alloc(33).toString('base64')]) assert.equal(isKey(bad), false, bad);
  });

  it('device names fit 15 characters, are stable per connection and differ between nodes and connections', () => {
    assert.match(deviceName('a', 'net:[1]'), /^wg[0-9a-f]{13}$/);
    assert.equal(deviceName('a', 'net:[1]'), deviceName('a', 'net:[1]'));
    assert.notEqual(deviceName('a', 'net:[1]'), deviceName('a', 'net:[2]'));
    assert.notEqual(deviceName('a', 'net:[1]'), deviceName('b', 'net:[1]'));
    assert.ok(portOf('a') >= 51820 && portOf('a') < 51820 + 8192);
    assert.equal(endpointOf('2001:db8::1', 5), '[2001:db8::1]:5');
    assert.equal(endpointOf('198.18.0.1', 5), '198.18.0.1:5');
  });

  it('encrypts; offers its address, port and public key; keeps them on refresh; the endpoint side adds its own', () => {
    assert.equal(wireguard.encrypts, true);
    const o = wireguard.offer(V4, undefined, undefined, 'c1')!;
    assert.equal(o.type, 'WIREGUARD');
    assert.equal(o.parameters[W.srcIp], '198.18.0.1');
    assert.ok(isKey(o.parameters[W.srcPublicKey]));
    assert.equal(o.parameters[W.mtu], '1440');
    assert.deepEqual(wireguard.offer(V4, o, undefined, 'c1'), o, 'same key and port on refresh');
    assert.equal(wireguard.check(o, V4B), undefined);
    const a = wireguard.accept(o, V4B, 'd1');
    assert.equal(a.parameters[W.dstIp], '198.18.0.2');
    assert.ok(isKey(a.parameters[W.dstPublicKey]));
    assert.notEqual(a.parameters[W.dstPublicKey], o.parameters[W.srcPublicKey]);
    assert.equal(a.parameters[W.srcPublicKey], o.parameters[W.srcPublicKey]);
    assert.ok(Object.values(a.parameters).every((v) => !v.includes('private')));
    assert.match(wireguard.check(o, { underlayIp: '2001:db8:ff::2' })!, /"src_ip" 198\.18\.0\.1 is IPv4 but this forwarder's underlay is IPv6/);
  });

  it('ports: distinct per connection even when their preferred ports collide, and free again once released', async () => {
    const byPort = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const id = `pc${i}`;
      const other = byPort.get(portOf(id));
      if (other) pair = [other, id];
      else byPort.set(portOf(id), id);
    }
    const [x, y] = pair;
    const port = (id: string) => Number(wireguard.offer(V4, undefined, undefined, id)!.parameters[W.srcPort]);
    assert.equal(port(x), portOf(x));
    assert.notEqual(port(y), portOf(y), 'the preferred port is held by the other connection');
    const ports = new Set([port(x), port(y), ...Array.from({ length: 200 }, (_, i) => port(`pm${i}`))]);
    assert.equal(ports.size, 202);
    await wireguard.release!(x, recordingDp().dp);
    await wireguard.release!(y, recordingDp().dp);
    for (let i = 0; i < 200; i++) await wireguard.release!(`pm${i}`, recordingDp().dp);
    assert.equal(port(y), portOf(y), 'free again');
    await wireguard.release!(y, recordingDp().dp);
  });

  it('malformed parameters are named', () => {
    const o = wireguard.offer(V4, undefined, undefined, 'c2')!;
    const bad = (k: string, v: string) => wireguard.check({ ...o, parameters: { ...o.parameters, [k]: v } }, V4B);
    assert.match(bad(W.srcIp, 'nope')!, /"src_ip" must be an IP address/);
    assert.match(bad(W.srcPort, '0')!, /"src_port" must be a UDP port/);
    assert.match(bad(W.srcPort, '70000')!, /"src_port"/);
    assert.match(bad(W.srcPort, '12a')!, /"src_port"/);
    assert.match(bad(W.srcPublicKey, 'not-a-key')!, /"src_public_key" must be a WireGuard public key/);
    assert.match(bad(W.mtu, '99')!, /"MTU"/);
    const { [W.srcPublicKey]: _, ...rest } = o.parameters;
    assert.match(wireguard.check({ ...o, parameters: rest }, V4B)!, /"src_public_key"/);
  });

  it('program refuses malformed or foreign parameters with INVALID_ARGUMENT naming them, before touching anything', async () => {
    const o = wireguard.offer(V4, undefined, undefined, 'c3')!;
    const a = wireguard.accept(o, V4B, 'd3');
    const { dp, calls } = recordingDp();
    const p: ProgramContext = { dp, connId: 'c3', alias: 'nsm:c3', service: 's', underlayIp: V4.underlayIp };
    const withParam = (k: string, v: string): Mechanism => ({ ...a, parameters: { ...a.parameters, [k]: v } });
    await assert.rejects(wireguard.program(p, side, withParam(W.dstPublicKey, 'AAAA'), 'client'), (e: Error) => e instanceof InvalidArgumentError && /"dst_public_key"/.test(e.message));
    await assert.rejects(wireguard.program(p, side, withParam(W.dstIp, '2001:db8::2'), 'client'), (e: Error) => e instanceof InvalidArgumentError && /"dst_ip"/.test(e.message));
    await assert.rejects(wireguard.program(p, side, withParam(W.dstPort, '-1'), 'client'), (e: Error) => e instanceof InvalidArgumentError && /"dst_port"/.test(e.message));
    // A source key this forwarder did not make (the connection is someone else's, or its key was forgotten).
    await assert.rejects(wireguard.program(p, side, withParam(W.srcPublicKey, newKeyPair().publicKey), 'client'), (e: Error) => e instanceof InvalidArgumentError && /"src_public_key" is not a key this forwarder made/.test(e.message));
    assert.deepEqual(calls, [], 'nothing was created');
    await wireguard.release!('c3', p.dp);
    await wireguard.release!('d3', p.dp);
    await assert.rejects(wireguard.program(p, side, a, 'client'), /"src_public_key" is not a key/, 'released: keys forgotten');
    assert.deepEqual(calls, []);
  });
});
