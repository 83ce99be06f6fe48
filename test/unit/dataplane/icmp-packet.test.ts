// icmp-packet: the Internet checksum, echo requests as bytes, what counts as an echo reply
// (type, id, seq, IPv4 header skipped, bad checksum refused) and socket addresses of both families.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { echoRequest, familyOf, inetChecksum, ipv6Bytes, parseEchoReply, sockaddr, sockaddrIp } from '../../../src/dataplane/icmp-packet.js';

/** An IPv4 header (20 bytes, no options) in front of an ICMP message, as a raw socket returns it. */
const withIpHeader = (icmp: Buffer) => Buffer.concat([Buffer.from('45000020000040004001000' + '0a9fe0902a9fe0901', 'hex'), icmp]);
/** An echo request turned into the reply the peer would send (type 0 / 129, checksum redone for IPv4). */
function replyTo(req: Buffer, family: 4 | 6): Buffer {
  const r = Buffer.from(req);
  r[0] = family === 4 ? 0 : 129;
  r.writeUInt16BE(0, 2);
  if (family === 4) r.writeUInt16BE(inetChecksum(r), 2);
  return r;
}

describe('icmp-packet', () => {
  it('inetChecksum: RFC 1071 example, odd lengths, and a message with its checksum sums to zero', () => {
    // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d.
    assert.equal(inetChecksum(Buffer.from('0001f203f4f5f6f7', 'hex')), 0x220d);
    assert.equal(inetChecksum(Buffer.from('01', 'hex')), 0xfeff);
    const req = echoRequest(4, 0x1234, 7);
    assert.equal(inetChecksum(req), 0);
  });

  it('echoRequest: type, code, id and seq in network order; IPv6 leaves the checksum to the kernel', () => {
    const v4 = echoRequest(4, 0xbeef, 0x0102);
    assert.deepEqual([v4[0], v4[1]], [8, 0]);
    assert.equal(v4.readUInt16BE(4), 0xbeef);
    assert.equal(v4.readUInt16BE(6), 0x0102);
    const v6 = echoRequest(6, 0xbeef, 70000);
    assert.deepEqual([v6[0], v6[1], v6.readUInt16BE(2)], [128, 0, 0]);
    assert.equal(v6.readUInt16BE(6), 70000 & 0xffff, 'seq wraps at 16 bits');
  });

  it('parseEchoReply: skips the IPv4 header (any IHL), reads id/seq; refuses requests, other types, bad sums, short data', () => {
    const req = echoRequest(4, 42, 9);
    assert.deepEqual(parseEchoReply(4, withIpHeader(replyTo(req, 4))), { id: 42, seq: 9 });
    const opts = withIpHeader(replyTo(req, 4));
    const ihl6 = Buffer.concat([Buffer.from([0x46]), opts.subarray(1, 20), Buffer.alloc(4), opts.subarray(20)]);
    assert.deepEqual(parseEchoReply(4, ihl6), { id: 42, seq: 9 });
    assert.equal(parseEchoReply(4, withIpHeader(req)), undefined, 'our own request (seen on loopback)');
    const unreachable = Buffer.from(replyTo(req, 4));
    unreachable[0] = 3;
    assert.equal(parseEchoReply(4, withIpHeader(unreachable)), undefined);
    const bad = replyTo(req, 4);
    bad[9] = bad[9]! ^ 0xff;
    assert.equal(parseEchoReply(4, withIpHeader(bad)), undefined, 'corrupted payload');
    assert.equal(parseEchoReply(4, Buffer.alloc(10)), undefined);
    assert.deepEqual(parseEchoReply(6, replyTo(echoRequest(6, 7, 65535), 6)), { id: 7, seq: 65535 });
    assert.equal(parseEchoReply(6, echoRequest(6, 7, 1)), undefined);
    assert.equal(parseEchoReply(6, Buffer.alloc(4)), undefined);
  });

  it('familyOf, sockaddr and sockaddrIp for both families (prefix lengths ignored)', () => {
    assert.equal(familyOf('169.254.1.0/32'), 4);
    assert.equal(familyOf('2001:db8::1/128'), 6);
    assert.equal(familyOf('nope'), undefined);
    const a4 = sockaddr('169.254.1.2/32');
    assert.equal(a4.length, 16);
    assert.equal(a4.readUInt16LE(0), 2);
    assert.deepEqual([...sockaddrIp(a4)], [169, 254, 1, 2]);
    const a6 = sockaddr('2001:db8::5');
    assert.equal(a6.length, 28);
    assert.equal(a6.readUInt16LE(0), 10);
    assert.equal(sockaddrIp(a6).toString('hex'), '20010db8000000000000000000000005');
    assert.throws(() => sockaddr('x'), /not an IP address/);
  });

  it('ipv6Bytes: compressed forms, a dotted IPv4 tail', () => {
    assert.equal(ipv6Bytes('::').toString('hex'), '0'.repeat(32));
    assert.equal(ipv6Bytes('::1').toString('hex'), '0'.repeat(31) + '1');
    assert.equal(ipv6Bytes('2001:db8:1:2:3:4:5:6').toString('hex'), '20010db8000100020003000400050006');
    assert.equal(ipv6Bytes('fe80::').toString('hex'), 'fe80' + '0'.repeat(28));
    assert.equal(ipv6Bytes('::ffff:169.254.1.2').toString('hex'), '00000000000000000000ffffa9fe0102');
  });
});
