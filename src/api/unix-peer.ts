// The credentials (pid, uid) of the process at the other end of an accepted unix socket, read with
// getsockopt(SO_PEERCRED) through the shared libc bindings of src/sys/libc.ts (Node exposes no such
// call). grpc-js hides its sockets, so every HTTP/2 server this process makes is given a listener that
// reads them when a unix connection is accepted and records them as the socket's remoteAddress (`unix-peer:pid=P,uid=U`), which grpc-js
// hands to interceptors as getConnectionInfo().remoteAddress.
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import { type Libc, SOL_SOCKET, libc } from '../sys/libc.js';

export interface UnixPeer {
  pid: number;
  uid: number;
  gid: number;
}

const SO_PEERCRED = 17;
const PREFIX = 'unix-peer:';

let sys: Libc | null | undefined;

/** The bindings, or null when they cannot load here (peers are then simply not recorded). */
function bindings(): Libc | null {
  if (sys === undefined) {
    try {
      sys = libc('SO_PEERCRED');
    } catch {
      sys = null;
    }
  }
  return sys;
}

/** SO_PEERCRED of a connected unix socket; undefined for TCP or when it cannot be read. */
export function unixPeerOf(socket: Socket): UnixPeer | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0 || socket.remoteAddress !== undefined) return undefined;
  const call = bindings();
  if (!call) return undefined;
  const out = Buffer.alloc(12); // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
  if (call.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, out, Uint32Array.of(12)) !== 0) return undefined;
  const pid = out.readInt32LE(0);
  return pid > 0 ? { pid, uid: out.readUInt32LE(4), gid: out.readUInt32LE(8) } : undefined;
}

/** Peers read when a connection was accepted (before TLS takes the socket's handle over). */
const accepted = new WeakMap<Socket, UnixPeer>();

function tag(target: Socket, peer: UnixPeer | undefined): void {
  if (peer) Object.defineProperty(target, 'remoteAddress', { value: `${PREFIX}pid=${peer.pid},uid=${peer.uid},gid=${peer.gid}`, configurable: true });
}

/** The peer a tagged remoteAddress names (undefined for anything else). */
export function parseUnixPeer(remoteAddress: string | undefined): UnixPeer | undefined {
  const m = remoteAddress?.startsWith(PREFIX) ? /^unix-peer:pid=(\d+),uid=(\d+),gid=(\d+)$/.exec(remoteAddress) : null;
  return m ? { pid: Number(m[1]), uid: Number(m[2]), gid: Number(m[3]) } : undefined;
}

let installed = false;

/** Makes every HTTP/2 server created from now on record unix peers' credentials (idempotent). */
export function recordUnixPeers(): void {
  if (installed) return;
  installed = true;
  const plain = http2.createServer.bind(http2) as (...a: unknown[]) => http2.Http2Server;
  const secure = http2.createSecureServer.bind(http2) as (...a: unknown[]) => http2.Http2SecureServer;
  (http2 as { createServer: unknown }).createServer = (...a: unknown[]) => {
    const s = plain(...a);
    s.prependListener('connection', (raw: Socket) => tag(raw, unixPeerOf(raw)));
    return s;
  };
  (http2 as { createSecureServer: unknown }).createSecureServer = (...a: unknown[]) => {
    const s = secure(...a);
    s.prependListener('connection', (raw: Socket) => {
      const peer = unixPeerOf(raw);
      if (peer) accepted.set(raw, peer);
    });
    // The TLS socket wraps the accepted one (its _parent).
    s.prependListener('secureConnection', (t: Socket) => {
      const raw = (t as unknown as { _parent?: Socket })._parent;
      tag(t, raw ? accepted.get(raw) : undefined);
    });
    return s;
  };
}
