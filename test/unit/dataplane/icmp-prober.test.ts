// icmp-prober with a fake libc: one socket per (namespace, family) shared by checks, entered with
// setns and left at once; replies matched by id, seq and source; timeouts; unusable tools reported
// as ToolUnavailableError; sockets closed by forget/close (no fd leak). The real kernel: test/e2e.
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { inetChecksum, sockaddr } from '../../../src/dataplane/icmp-packet.js';
import { IcmpProber, ToolUnavailableError } from '../../../src/dataplane/icmp-prober.js';
import { setSysForTest, type Sys } from '../../../src/dataplane/icmp-sys.js';

const dir = mkdtempSync(join(tmpdir(), 'prober-'));
after(() => rmSync(dir, { recursive: true }));
/** Stand-ins for namespace files (the fake setns accepts any fd). */
const nsFile = (name: string) => {
  const p = join(dir, name);
  writeFileSync(p, '');
  return p;
};

interface Sent {
  fd: number;
  pkt: Buffer;
  to: Buffer;
}

function fakeSys() {
  let next = 100;
  let errno = 0;
  const f = {
    open: new Set<number>(),
    families: new Map<number, number>(),
    queue: new Map<number, { data: Buffer; from: Buffer }[]>(),
    sent: [] as Sent[],
    setns: [] as number[],
    socketErrno: 0,
    sendErrno: 0,
    /** Queues the reply to a sent request, optionally altered. */
    reply(s: Sent, alter: { id?: number; seq?: number; from?: string } = {}): void {
      const icmp = Buffer.from(s.pkt);
      const v4 = f.families.get(s.fd) === 2;
      icmp[0] = v4 ? 0 : 129;
      if (alter.id !== undefined) icmp.writeUInt16BE(alter.id, 4);
      if (alter.seq !== undefined) icmp.writeUInt16BE(alter.seq, 6);
      icmp.writeUInt16BE(0, 2);
      if (v4) icmp.writeUInt16BE(inetChecksum(icmp), 2);
      const data = v4 ? Buffer.concat([Buffer.from('4500' + '00'.repeat(18), 'hex'), icmp]) : icmp;
      const from = alter.from ? sockaddr(alter.from) : s.to;
      f.queue.get(s.fd)!.push({ data, from });
    },
    sys: {
      socket(domain: number): number {
        if (f.socketErrno) return (errno = f.socketErrno), -1;
        const fd = next++;
        f.open.add(fd);
        f.families.set(fd, domain);
        f.queue.set(fd, []);
        return fd;
      },
      setns(fd: number): number {
        f.setns.push(fd);
        return 0;
      },
      sendto(fd: number, buf: Buffer, len: number, _fl: number, addr: Buffer): number {
        if (f.sendErrno) return (errno = f.sendErrno), -1;
        f.sent.push({ fd, pkt: Buffer.from(buf.subarray(0, len)), to: Buffer.from(addr) });
        return len;
      },
      recvfrom(fd: number, buf: Buffer, _len: number, _fl: number, addr: Buffer, addrlen: Uint32Array): number {
        const m = f.queue.get(fd)?.shift();
        if (!m) return (errno = 11), -1;
        m.data.copy(buf);
        m.from.copy(addr);
        addrlen[0] = m.from.length;
        return m.data.length;
      },
      setsockopt: (): number => 0,
      close(fd: number): number {
        f.open.delete(fd);
        return 0;
      },
      errno: (): number => errno,
    } satisfies Sys,
  };
  setSysForTest(f.sys);
  return f;
}

afterEach(() => setSysForTest(undefined));

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
};

describe('icmp-prober (fake libc)', () => {
  it('one socket per namespace and family, entered with setns and left at once; shared by checks', async () => {
    const f = fakeSys();
    const p = new IcmpProber({ tickMs: 1 });
    const a = nsFile('a');
    const r1 = p.echo(a, '169.254.1.1/32', 500);
    const r2 = p.echo(a, '169.254.1.3', 500);
    const r3 = p.echo(a, '2001:db8::1', 500);
    assert.equal(f.open.size, 2, 'one IPv4 + one IPv6 socket for namespace a');
    assert.equal(f.setns.length, 4, 'into the namespace and back, per socket');
    assert.equal(f.setns[1], f.setns[3], 'always back to our own namespace');
    f.sent.forEach((s) => f.reply(s));
    assert.deepEqual(await Promise.all([r1, r2, r3]), ['reply', 'reply', 'reply']);
    p.close();
    assert.equal(f.open.size, 0);
  });

  it('ignores replies with another id, another seq or from another address; times out without them', async () => {
    const f = fakeSys();
    const p = new IcmpProber({ tickMs: 1 });
    const a = nsFile('b');
    const pending = p.echo(a, '169.254.1.1', 60);
    const s = f.sent[0]!;
    const id = s.pkt.readUInt16BE(4);
    const seq = s.pkt.readUInt16BE(6);
    f.reply(s, { id: (id + 1) & 0xffff });
    f.reply(s, { seq: (seq + 1) & 0xffff });
    f.reply(s, { from: '169.254.1.9' });
    const t0 = Date.now();
    assert.equal(await pending, 'no-reply');
    assert.ok(Date.now() - t0 >= 40, 'waited for the deadline');
    assert.equal(f.queue.get(s.fd)!.length, 0, 'the strays were read and dropped');
    const again = p.echo(a, '169.254.1.1', 500);
    f.reply(f.sent[1]!);
    assert.equal(await again, 'reply', 'a matching reply still counts');
    p.close();
  });

  it('a send that fails (no route) or a namespace that does not exist is no-reply at once', async () => {
    const f = fakeSys();
    const p = new IcmpProber({ tickMs: 1 });
    f.sendErrno = 101;
    assert.equal(await p.echo(nsFile('c'), '198.19.0.1', 5000), 'no-reply');
    assert.equal(await p.echo(join(dir, 'missing'), '198.19.0.1', 5000), 'no-reply');
    p.close();
    assert.equal(f.open.size, 0);
  });

  it('no permission for a raw socket, or no FFI, is ToolUnavailableError (not a dead path)', async () => {
    const f = fakeSys();
    f.socketErrno = 1;
    const p = new IcmpProber();
    await assert.rejects(p.echo(nsFile('d'), '169.254.1.1'), (e: Error) => e instanceof ToolUnavailableError && /root \(CAP_NET_RAW\)/.test(e.message));
    assert.equal(f.setns.length, 2, 'back in our namespace after the failure');
    await assert.rejects(p.echo(nsFile('d'), 'not-an-ip'), /not an IP address/);
    p.close();
  });

  it('forget closes the namespace\'s sockets and answers its probes in flight; a deleted namespace is reopened', async () => {
    const f = fakeSys();
    const p = new IcmpProber({ tickMs: 1 });
    const a = nsFile('e');
    const b = nsFile('f');
    const inFlight = p.echo(a, '169.254.1.1', 5000);
    void p.echo(b, '169.254.1.1', 10).catch(() => undefined);
    assert.equal(p.openSockets, 2);
    p.forget(a);
    assert.equal(await inFlight, 'no-reply');
    assert.equal(p.openSockets, 1);
    renameSync(nsFile('f-new'), b); // another file under the same name: another namespace
    await until(() => p.openSockets === 0);
    assert.equal(p.openSockets, 0, 'the miss found the namespace replaced and dropped the socket');
    assert.equal(f.open.size, 0, 'every fd closed');
    p.close();
  });
});
