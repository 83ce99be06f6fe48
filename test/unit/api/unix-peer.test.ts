// unix-peer: SO_PEERCRED read through the shared libc bindings names the process at the other end of
// an accepted unix connection (here ourselves); TCP connections and foreign strings name nobody.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseUnixPeer, unixPeerOf, type UnixPeer } from '../../../src/api/unix-peer.js';

const dir = mkdtempSync(join(tmpdir(), 'unix-peer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The peer the server side of one connection to `listen` sees. */
async function peerSeen(listen: string | number): Promise<UnixPeer | undefined> {
  let seen: UnixPeer | undefined;
  const server = net.createServer((s) => {
    seen = unixPeerOf(s);
    s.end();
  });
  await new Promise<void>((r) => (typeof listen === 'string' ? server.listen(listen, r) : server.listen(listen, '127.0.0.1', r)));
  const addr = typeof listen === 'string' ? { path: listen } : { port: (server.address() as net.AddressInfo).port, host: '127.0.0.1' };
  await new Promise<void>((resolve, reject) => {
    const c = net.connect(addr);
    c.on('error', reject);
    c.on('close', () => resolve());
    c.resume();
  });
  await new Promise<void>((r) => server.close(() => r()));
  return seen;
}

describe('unix-peer', () => {
  it('reads pid, uid and gid of a unix peer', async () => {
    const peer = await peerSeen(join(dir, 's.sock'));
    assert.deepEqual(peer, { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
  });

  it('a TCP peer has no credentials', async () => {
    assert.equal(await peerSeen(0), undefined);
  });

  it('parses only its own tag', () => {
    assert.deepEqual(parseUnixPeer('unix-peer:pid=12,uid=0,gid=5'), { pid: 12, uid: 0, gid: 5 });
    assert.equal(parseUnixPeer('127.0.0.1:5000'), undefined);
    assert.equal(parseUnixPeer(undefined), undefined);
  });
});
