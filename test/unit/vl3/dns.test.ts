// vL3 DNS answers: <client>.<zone> A/AAAA from the records, fan-out for names of the zone it lacks
// (client queries only), NXDOMAIN for forwarded ones, REFUSED outside the zone; resolv.conf text and path.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import { decide, labelIn, rcodeOf, RCODE } from '../../../src/dataplane/dns/vl3-dns-answer.js';
import { parseUpstream, resolvConfUpstreams } from '../../../src/dataplane/dns/dns-upstreams.js';
import { applyResolvConf, removeResolvConf, resolvConfPath, resolvConfText } from '../../../src/dataplane/resolv-conf.js';

const records = new Map([['nsc-1', ['169.254.17.2']], ['nsc-6', ['169.254.18.3', '2001:db8:1::3']]]);
const query = (name: string, type: 'A' | 'AAAA' | 'TXT' = 'A', rd = true) =>
  dnsPacket.decode(dnsPacket.encode({ type: 'query', id: 7, flags: rd ? dnsPacket.RECURSION_DESIRED : 0, questions: [{ type, name, class: 'IN' }] }));

test('vl3 dns: labels of the zone', () => {
  assert.equal(labelIn('NSC-1.vl3-net.', ['vl3-net']), 'nsc-1');
  assert.equal(labelIn('a.b.vl3-net', ['vl3-net']), undefined);
  assert.equal(labelIn('vl3-net', ['vl3-net']), undefined);
  assert.equal(labelIn('nsc-1.other', ['vl3-net']), undefined);
});

test('vl3 dns: A and AAAA answers from the records', () => {
  const d = decide(query('nsc-6.vl3-net'), ['vl3-net'], records, true);
  assert.equal(d.kind, 'reply');
  const p = dnsPacket.decode(dnsPacket.encode(d.kind === 'reply' ? d.packet : {}));
  assert.equal(p.id, 7);
  assert.equal(rcodeOf(p), RCODE.NOERROR);
  assert.deepEqual(p.answers!.map((a) => [a.type, (a as { data: string }).data]), [['A', '169.254.18.3']]);
  const six = decide(query('nsc-6.vl3-net', 'AAAA'), ['vl3-net'], records, true);
  assert.deepEqual(six.kind === 'reply' && six.packet.answers!.map((a) => (a as { data: string }).data), ['2001:db8:1::3']);
  const txt = decide(query('nsc-6.vl3-net', 'TXT'), ['vl3-net'], records, true);
  assert.ok(txt.kind === 'reply' && rcodeOf(txt.packet) === RCODE.NOERROR && txt.packet.answers!.length === 0);
});

test('vl3 dns: unknown names fan out once, forwarded queries get NXDOMAIN, other zones REFUSED', () => {
  assert.deepEqual(decide(query('nsc-9.vl3-net'), ['vl3-net'], records, true), { kind: 'fanout', name: 'nsc-9' });
  const fwd = decide(query('nsc-9.vl3-net', 'A', false), ['vl3-net'], records, true);
  assert.ok(fwd.kind === 'reply' && rcodeOf(fwd.packet) === RCODE.NXDOMAIN);
  const alone = decide(query('nsc-9.vl3-net'), ['vl3-net'], records, false);
  assert.ok(alone.kind === 'reply' && rcodeOf(alone.packet) === RCODE.NXDOMAIN);
  const other = decide(query('example.org'), ['vl3-net'], records, true);
  assert.ok(other.kind === 'reply' && rcodeOf(other.packet) === RCODE.REFUSED);
});

test('vl3 dns: names outside the zone go upstream when there are upstreams; upstream entries', () => {
  assert.deepEqual(decide(query('example.org'), ['vl3-net'], records, true, true), { kind: 'forward' });
  const deep = decide(query('a.b.vl3-net'), ['vl3-net'], records, true, true);
  assert.ok(deep.kind === 'reply' && rcodeOf(deep.packet) === RCODE.NXDOMAIN);
  assert.deepEqual(parseUpstream('198.18.0.9'), { host: '198.18.0.9', port: 53 });
  assert.deepEqual(parseUpstream('198.18.0.9:5353'), { host: '198.18.0.9', port: 5353 });
  assert.deepEqual(parseUpstream('[2001:db8::1]:54'), { host: '2001:db8::1', port: 54 });
  assert.throws(() => parseUpstream('dns.example:53'), /dns-upstream: "dns.example:53" is not IP/);
  assert.deepEqual(resolvConfUpstreams('# x\nnameserver 198.18.0.9\nsearch a\nnameserver fe80::1%eth0\nnameserver bad\n'), [
    { host: '198.18.0.9', port: 53 },
    { host: 'fe80::1', port: 53 },
  ]);
});

test('vl3 dns: resolv.conf of a named namespace, written and removed only when ours', () => {
  assert.equal(resolvConfPath('file:///var/run/netns/m-nsc-1'), '/etc/netns/m-nsc-1/resolv.conf');
  assert.equal(resolvConfPath('/run/netns/x'), '/etc/netns/x/resolv.conf');
  assert.equal(resolvConfPath('file:///proc/12/ns/net'), undefined);
  assert.match(resolvConfText([{ dnsServerIps: ['169.254.17.1'], searchDomains: ['vl3-net'] }], 'nsc-1'), /nameserver 169\.254\.17\.1\nsearch vl3-net\n/);
  const etc = mkdtempSync(`${tmpdir()}/etcnetns-`);
  assert.ok(applyResolvConf('ns-a', [{ dnsServerIps: ['169.254.17.1'], searchDomains: ['vl3-net'] }], 'nsc-1', etc));
  assert.match(readFileSync(`${etc}/ns-a/resolv.conf`, 'utf8'), /nameserver 169\.254\.17\.1/);
  removeResolvConf('ns-a', etc);
  assert.ok(!existsSync(`${etc}/ns-a`));
  mkdirSync(`${etc}/ns-b`);
  writeFileSync(`${etc}/ns-b/resolv.conf`, 'nameserver 198.18.0.9\n');
  assert.equal(applyResolvConf('ns-b', [{ dnsServerIps: ['169.254.17.1'], searchDomains: [] }], 'nsc-1', etc), false);
  assert.equal(readFileSync(`${etc}/ns-b/resolv.conf`, 'utf8'), 'nameserver 198.18.0.9\n');
});
