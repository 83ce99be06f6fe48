// src/sys/libc.ts: the shared libc bindings load once and every declared call reaches the kernel
// (a datagram socket, socket options both ways, send/recv, close with errno on a bad fd).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AF_INET, AF_NETLINK, SOCK_CLOEXEC, SOCK_RAW, SOL_SOCKET, libc } from '../../../src/sys/libc.js';

const SOCK_DGRAM = 2;
const SO_RCVBUF = 8;
const EBADF = 9;

describe('sys/libc', () => {
  it('binds once: every caller gets the same bindings', () => {
    assert.equal(libc('a'), libc('b'));
  });

  it('socket, setsockopt, getsockopt and close reach the kernel', () => {
    const sys = libc();
    const fd = sys.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert.ok(fd >= 0, `socket: errno ${sys.errno()}`);
    try {
      const want = Buffer.alloc(4);
      want.writeInt32LE(65536);
      assert.equal(sys.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, want, 4), 0);
      const out = Buffer.alloc(4);
      const len = Uint32Array.of(4);
      assert.equal(sys.getsockopt(fd, SOL_SOCKET, SO_RCVBUF, out, len), 0);
      assert.equal(len[0], 4);
      assert.ok(out.readInt32LE(0) >= 65536, 'the kernel doubles the buffer it was asked for');
    } finally {
      assert.equal(sys.close(fd), 0);
    }
  });

  it('send and recv on an rtnetlink socket (needs no privilege)', () => {
    const sys = libc();
    const fd = sys.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
    assert.ok(fd >= 0, `socket: errno ${sys.errno()}`);
    try {
      // RTM_GETLINK dump request with an ACK: nlmsghdr (16) + ifinfomsg (16)
      const msg = Buffer.alloc(32);
      msg.writeUInt32LE(32, 0);
      msg.writeUInt16LE(18, 4); // RTM_GETLINK
      msg.writeUInt16LE(0x1 | 0x300, 6); // NLM_F_REQUEST | NLM_F_DUMP
      msg.writeUInt32LE(7, 8);
      assert.equal(sys.send(fd, msg, msg.length, 0), 32);
      const buf = Buffer.alloc(64 * 1024);
      const n = sys.recv(fd, buf, buf.length, 0);
      assert.ok(n >= 16, `recv: ${n}`);
      assert.equal(buf.readUInt32LE(8), 7, 'the reply carries our sequence number');
    } finally {
      sys.close(fd);
    }
  });

  it('a failed call returns -1 and leaves its errno', () => {
    const sys = libc();
    assert.equal(sys.close(-1), -1);
    assert.equal(sys.errno(), EBADF);
  });
});
