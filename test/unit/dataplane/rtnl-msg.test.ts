// Unit: the rtnetlink message bodies the kernel driver sends (veth, VXLAN, alias/up, delete, addresses,
// routes, proxy neighbours) and the parsing of the kernel's answers, checked byte by byte.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  aliasUp,
  attr,
  delLink,
  errnoOf,
  errnoText,
  eui64LinkLocal,
  extackOf,
  getLink,
  getLinkStats,
  ipBytes,
  linkStats64Of,
  linkAddressOf,
  linkIndexOf,
  newAddr,
  noLinkLocal,
  newRoute,
  proxyNeigh,
  vethNewLink,
  vxlanNewLink,
  vxlanSetRemote,
} from '../../../src/dataplane/rtnl-msg.js';

/** Attributes of a stream as [type (flags kept), payload]. */
function attrs(b: Buffer): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  let off = 0;
  while (off < b.length) {
    const len = b.readUInt16LE(off);
    assert.ok(len >= 4 && off + len <= b.length, `attribute at ${off} has length ${len}`);
    out.push([b.readUInt16LE(off + 2), b.subarray(off + 4, off + len)]);
    off += (len + 3) & ~3;
  }
  assert.equal(off, b.length, 'attributes end exactly at the end (padded)');
  return out;
}
const byType = (list: [number, Buffer][], type: number) => list.find(([t]) => (t & 0x3fff) === type)?.[1];
const cstr = (b: Buffer | undefined) => b?.toString('utf8').replace(/\0+$/, '');

test('attributes are length-prefixed and padded to 4 bytes', () => {
  assert.equal(attr(3, Buffer.from('ab\0')).toString('hex'), '0700030061620000');
  assert.equal(attr(4, Buffer.alloc(4, 1)).toString('hex'), '0800040001010101');
});

test('addresses in network byte order, both families', () => {
  assert.equal(ipBytes('169.254.1.2').toString('hex'), 'a9fe0102');
  assert.equal(ipBytes('2001:db8::1').toString('hex'), '20010db8000000000000000000000001');
  assert.equal(ipBytes('::').toString('hex'), '0'.repeat(32));
  assert.equal(ipBytes('fe80::1:2').toString('hex'), 'fe800000000000000000000000010002');
  assert.equal(ipBytes('::ffff:198.18.0.1').toString('hex'), '00000000000000000000ffffc6120001');
  assert.equal(ipBytes('2001:db8:1:2:3:4:5:6').toString('hex'), '20010db8000100020003000400050006');
  assert.throws(() => ipBytes('2001:db8::1::2'));
});

test('veth: both ends named, each with its namespace fd and MTU, down until aliasUp', () => {
  const b = vethNewLink({ name: 'nsm-a', nsFd: 21, mtu: 1400 }, { name: 'eth7', nsFd: 22, mtu: 1400 });
  assert.equal(b.readUInt32LE(8), 0, 'no IFF_UP at creation (the kernel refuses to open a half-made pair)');
  const top = attrs(b.subarray(16));
  assert.equal(cstr(byType(top, 3)), 'nsm-a');
  assert.equal(byType(top, 4)!.readUInt32LE(0), 1400);
  assert.equal(byType(top, 28)!.readUInt32LE(0), 21);
  const info = attrs(byType(top, 18)!);
  assert.ok(top.find(([t]) => (t & 0x3fff) === 18)![0] & 0x8000, 'IFLA_LINKINFO is marked nested');
  assert.equal(cstr(byType(info, 1)), 'veth');
  const peer = byType(attrs(byType(info, 2)!), 1)!;
  assert.equal(peer.readInt32LE(4), 0, "the peer's own ifinfomsg comes first");
  const pa = attrs(peer.subarray(16));
  assert.equal(cstr(byType(pa, 3)), 'eth7');
  assert.equal(byType(pa, 28)!.readUInt32LE(0), 22);
  assert.equal(byType(pa, 4)!.readUInt32LE(0), 1400);
});

test('veth without namespaces, MTU or queue counts carries none of them', () => {
  const top = attrs(vethNewLink({ name: 'a' }, { name: 'b' }).subarray(16));
  assert.equal(byType(top, 28), undefined);
  assert.equal(byType(top, 4), undefined);
  assert.equal(byType(top, 31), undefined);
  assert.equal(byType(top, 32), undefined);
});

test('veth queue counts: IFLA_NUM_TX_QUEUES and IFLA_NUM_RX_QUEUES on each end that asks', () => {
  const top = attrs(vethNewLink({ name: 'a', queues: 1 }, { name: 'b', queues: 1 }).subarray(16));
  assert.equal(byType(top, 31)!.readUInt32LE(0), 1);
  assert.equal(byType(top, 32)!.readUInt32LE(0), 1);
  const pa = attrs(byType(attrs(byType(attrs(byType(top, 18)!), 2)!), 1)!.subarray(16));
  assert.equal(byType(pa, 31)!.readUInt32LE(0), 1);
  assert.equal(byType(pa, 32)!.readUInt32LE(0), 1);
});

test('vxlan: VNI, local/remote by family, port big-endian, underlay device, target namespace', () => {
  const v4 = attrs(vxlanNewLink({ name: 'vx1', vni: 77, local: '198.18.0.1', remote: '198.18.0.2', port: 4789, linkIndex: 5, nsFd: 9 }).subarray(16));
  assert.equal(cstr(byType(v4, 3)), 'vx1');
  assert.equal(byType(v4, 28)!.readUInt32LE(0), 9);
  const info = attrs(byType(v4, 18)!);
  assert.equal(cstr(byType(info, 1)), 'vxlan');
  const d = attrs(byType(info, 2)!);
  assert.equal(byType(d, 1)!.readUInt32LE(0), 77);
  assert.equal(byType(d, 4)!.toString('hex'), 'c6120001');
  assert.equal(byType(d, 2)!.toString('hex'), 'c6120002');
  assert.equal(byType(d, 15)!.toString('hex'), '12b5');
  assert.equal(byType(d, 3)!.readUInt32LE(0), 5);
  const d6 = attrs(byType(attrs(byType(attrs(vxlanNewLink({ name: 'vx2', vni: 1, local: '2001:db8::1', remote: '2001:db8::2', port: 8472 }).subarray(16)), 18)!), 2)!);
  assert.equal(byType(d6, 17)!.toString('hex'), '20010db8000000000000000000000001');
  assert.equal(byType(d6, 16)!.toString('hex'), '20010db8000000000000000000000002');
  assert.equal(byType(d6, 4), undefined);
  assert.equal(byType(d6, 3), undefined);
});

test('alias+up, delete and get go by name', () => {
  const a = aliasUp('nsm-a', 'nsm:conn-1');
  assert.equal(a.readInt32LE(4), 0);
  assert.equal(a.readUInt32LE(8), 1, 'IFF_UP in flags');
  assert.equal(a.readUInt32LE(12), 1, 'and in the change mask');
  const at = attrs(a.subarray(16));
  assert.equal(cstr(byType(at, 3)), 'nsm-a');
  assert.equal(cstr(byType(at, 20)), 'nsm:conn-1');
  assert.equal(delLink('x1').toString('hex'), '00'.repeat(16) + '070003007831000' + '0');
  const g = attrs(getLink('x1').subarray(16));
  assert.equal(byType(g, 29)!.readUInt32LE(0), 8, 'statistics skipped');
  const reply = Buffer.alloc(16);
  reply.writeInt32LE(42, 4);
  assert.equal(linkIndexOf(reply), 42);
});

test('no link-local: addrgenmode none under IFLA_AF_SPEC / AF_INET6, by name, flags untouched', () => {
  const b = noLinkLocal('nsm-a');
  assert.equal(b.readInt32LE(4), 0, 'by name');
  assert.equal(b.readUInt32LE(8), 0, 'no flags (the link goes up afterwards, with aliasUp)');
  assert.equal(b.readUInt32LE(12), 0);
  const at = attrs(b.subarray(16));
  assert.equal(cstr(byType(at, 3)), 'nsm-a');
  const spec = byType(at, 26);
  assert.ok(spec, 'IFLA_AF_SPEC');
  const inet6 = byType(attrs(spec), 10);
  assert.ok(inet6, 'AF_INET6 inside');
  assert.deepEqual([...byType(attrs(inet6), 8)!], [1], 'IFLA_INET6_ADDR_GEN_MODE = IN6_ADDR_GEN_MODE_NONE');
});

test('link-local: the MAC of a link reply, and the EUI-64 address the kernel would make from it', () => {
  const mac = Buffer.from('3a9de3104fd4', 'hex');
  const reply = Buffer.concat([Buffer.alloc(16), attr(3, Buffer.from('nsm-a\0')), attr(1, mac), attr(2, Buffer.from('ffffffffffff', 'hex'))]);
  assert.deepEqual(linkAddressOf(reply), mac, 'IFLA_ADDRESS, not IFLA_BROADCAST');
  assert.equal(linkAddressOf(Buffer.concat([Buffer.alloc(16), attr(3, Buffer.from('tun0\0'))])), undefined);
  // as `ip -6 addr` shows it for MAC 3a:9d:e3:10:4f:d4 (U/L bit flipped, ff:fe in the middle)
  assert.equal(eui64LinkLocal(mac), 'fe80::389d:e3ff:fe10:4fd4');
  assert.equal(eui64LinkLocal(Buffer.from('020000000001', 'hex')), 'fe80::0:ff:fe00:1');
  assert.throws(() => eui64LinkLocal(Buffer.alloc(4)));
});

test('addresses: IPv4 plain; IPv6 without DAD, a /128 also without prefix route', () => {
  const v4 = newAddr(7, '169.254.0.1', 32);
  assert.deepEqual([...v4.subarray(0, 4)], [2, 32, 0, 0]);
  assert.equal(v4.readUInt32LE(4), 7);
  const a4 = attrs(v4.subarray(8));
  assert.equal(byType(a4, 2)!.toString('hex'), 'a9fe0001');
  assert.equal(byType(a4, 1)!.toString('hex'), 'a9fe0001');
  assert.equal(byType(a4, 8), undefined);
  const v6 = newAddr(7, '2001:db8::5', 64);
  assert.deepEqual([...v6.subarray(0, 3)], [10, 64, 0x02]);
  assert.equal(byType(attrs(v6.subarray(8)), 8), undefined);
  const h = newAddr(7, '2001:db8::5', 128);
  assert.equal(byType(attrs(h.subarray(8)), 8)!.readUInt32LE(0), 0x202, 'IFA_F_NODAD|IFA_F_NOPREFIXROUTE in IFA_FLAGS');
});

test('routes: main table, boot protocol, link scope without a gateway, universe with one', () => {
  const r = newRoute(3, '169.254.10.0', 24);
  assert.deepEqual([...r.subarray(0, 8)], [2, 24, 0, 0, 254, 3, 253, 1]);
  const ra = attrs(r.subarray(12));
  assert.equal(byType(ra, 1)!.toString('hex'), 'a9fe0a00');
  assert.equal(byType(ra, 4)!.readUInt32LE(0), 3);
  assert.equal(byType(ra, 5), undefined);
  const g = newRoute(3, '2001:db8:20::', 64, '2001:db8:8::9', '2001:db8:8::1');
  assert.deepEqual([...g.subarray(0, 8)], [10, 64, 0, 0, 254, 3, 0, 1]);
  const ga = attrs(g.subarray(12));
  assert.equal(byType(ga, 5)!.toString('hex'), '20010db8000800000000000000000009');
  assert.equal(byType(ga, 7)!.toString('hex'), '20010db8000800000000000000000001');
  assert.equal(byType(attrs(newRoute(3, '0.0.0.0', 0).subarray(12)), 1), undefined, 'a default route has no destination');
});

test('proxy neighbour: permanent, NTF_PROXY, destination address', () => {
  const n = proxyNeigh(4, '2001:db8::7');
  assert.equal(n.readUInt8(0), 10);
  assert.equal(n.readInt32LE(4), 4);
  assert.equal(n.readUInt16LE(8), 0x80);
  assert.equal(n.readUInt8(10), 0x08);
  assert.equal(byType(attrs(n.subarray(12)), 1)!.toString('hex'), '20010db8000000000000000000000007');
});

test("answers: errno, the kernel's extended-ACK text, iproute2's wording", () => {
  const ack = Buffer.alloc(20);
  assert.equal(errnoOf(ack), 0);
  const err = Buffer.concat([Buffer.alloc(20), attr(1, Buffer.from('Nexthop has invalid gateway\0'))]);
  err.writeInt32LE(-101, 0);
  assert.equal(errnoOf(err), 101);
  assert.equal(extackOf(err, 0x100 | 0x200), 'Nexthop has invalid gateway');
  assert.equal(extackOf(err, 0x100), undefined, 'no TLVs flag: no text');
  assert.equal(errnoText(17, 'EEXIST'), 'RTNETLINK answers: File exists');
  assert.equal(errnoText(19, 'ENODEV'), 'RTNETLINK answers: No such device');
  assert.equal(errnoText(101, 'ENETUNREACH', 'Nexthop has invalid gateway'), 'RTNETLINK answers: Network is unreachable (Nexthop has invalid gateway)');
  assert.equal(errnoText(999, 'E999'), 'RTNETLINK answers: E999 (errno 999)');
});

test('get with statistics goes by name; IFLA_STATS64 of the reply becomes counters (drops as /proc/net/dev counts them)', () => {
  const g = attrs(getLinkStats('nsm-7').subarray(16));
  assert.equal(cstr(byType(g, 3)), 'nsm-7');
  assert.equal(byType(g, 29), undefined, 'statistics not skipped');
  const stats = Buffer.alloc(24 * 8);
  // rx_packets, tx_packets, rx_bytes, tx_bytes, rx_errors, tx_errors, rx_dropped, tx_dropped, ..., rx_missed_errors (16th)
  [5, 6, 700, 800, 0, 0, 2, 3].forEach((v, i) => stats.writeBigUInt64LE(BigInt(v), 8 * i));
  stats.writeBigUInt64LE(4n, 8 * 15);
  const reply = Buffer.concat([Buffer.alloc(16), attr(3, Buffer.from('nsm-7\0')), attr(7, Buffer.alloc(92)), attr(23, stats)]);
  assert.deepEqual(linkStats64Of(reply), { rxPackets: 5, txPackets: 6, rxBytes: 700, txBytes: 800, rxDrops: 6, txDrops: 3 });
  assert.equal(linkStats64Of(Buffer.concat([Buffer.alloc(16), attr(3, Buffer.from('x\0'))])), undefined);
  assert.equal(linkStats64Of(Buffer.alloc(16)), undefined);
});

test('vxlan peer set later: by name, kind vxlan, only the group attribute (by family)', () => {
  for (const [remote, type, hex] of [['198.18.0.2', 2, 'c6120002'], ['2001:db8::2', 16, '20010db8000000000000000000000002']] as const) {
    const b = vxlanSetRemote('nsm-3', remote);
    assert.equal(b.readInt32LE(4), 0, 'no index: by name');
    assert.equal(b.readUInt32LE(12), 0, 'no flag change');
    const at = attrs(b.subarray(16));
    assert.equal(cstr(byType(at, 3)), 'nsm-3');
    const info = attrs(byType(at, 18)!);
    assert.equal(cstr(byType(info, 1)), 'vxlan');
    const data = attrs(byType(info, 2)!);
    assert.equal(data.length, 1);
    assert.equal(data[0]![0], type);
    assert.equal(data[0]![1].toString('hex'), hex);
  }
});
