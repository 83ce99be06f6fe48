// Mesh URLs (unix:///path, tcp://host:port) and the gRPC servers and channels behind them.
import { mkdirSync, rmSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { createChannel, createServer, type Channel, type Server, ChannelCredentials } from 'nice-grpc';
import {
  connectivityState,
  Metadata as GrpcMetadata,
  ServerInterceptingCall,
  status,
  type ChannelInterface,
  type ServerCredentials,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { InvalidArgumentError } from './errors.js';
import { parseUnixPeer, recordUnixPeers } from './unix-peer.js';
import { fastUnaryEnabled, listenWithFastUnary, type FastPeerRules } from './fast-unary-server.js';
import { closeFastSessions, dropFastSession, fastUnaryClient } from './fast-unary-client.js';

/**
 * Mutual TLS for every server and channel of this process (set once at start by a component that has an
 * identity; absent: plain text, as upstream's insecure mode). src/security implements it.
 */
export interface TransportSecurity {
  serverCredentials(): ServerCredentials;
  channelCredentials(): ChannelCredentials;
  /** The caller's SPIFFE ID from its verified certificate; throws saying why it is not acceptable. */
  peerId(cert: PeerCertificate | undefined): string;
}

let security: TransportSecurity | undefined;

/** Turns mTLS on (or off with undefined) for servers bound and channels made from now on. */
export function setTransportSecurity(s: TransportSecurity | undefined): void {
  security = s;
  closeAllChannels();
}

export function transportSecurity(): TransportSecurity | undefined {
  return security;
}

/**
 * Incoming metadata key carrying the caller's SPIFFE ID as the TLS layer proved it. Servers delete any
 * value the caller sent and set it only from the verified peer certificate.
 */
export const PEER_ID_HEADER = 'nsm-peer-spiffe-id';
/** Incoming metadata keys with the pid and uid of the caller's process (unix sockets, from SO_PEERCRED), set like PEER_ID_HEADER. */
export const PEER_PID_HEADER = 'nsm-peer-pid';
export const PEER_UID_HEADER = 'nsm-peer-uid';

recordUnixPeers();

const peerIdentity: ServerInterceptor = (_method, call) =>
  new ServerInterceptingCall(call, {
    start(next) {
      next({
        onReceiveMetadata(md, mdNext) {
          md.remove(PEER_ID_HEADER);
          md.remove(PEER_PID_HEADER);
          md.remove(PEER_UID_HEADER);
          const unix = parseUnixPeer(call.getConnectionInfo().remoteAddress);
          if (unix) {
            md.set(PEER_PID_HEADER, String(unix.pid));
            md.set(PEER_UID_HEADER, String(unix.uid));
          }
          const sec = security;
          const cert = call.getAuthContext()?.sslPeerCertificate;
          if (sec && cert) {
            try {
              md.set(PEER_ID_HEADER, sec.peerId(cert));
            } catch (err) {
              call.sendStatus({ code: status.UNAUTHENTICATED, details: `peer certificate refused: ${err instanceof Error ? err.message : String(err)}`, metadata: new GrpcMetadata() });
              return;
            }
          }
          mdNext(md);
        },
      });
    },
  });

/** A parsed mesh URL. */
export type MeshUrl = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** Parses `unix:///path`, `tcp://host:port` (or a bare `host:port`). */
export function parseMeshUrl(url: string): MeshUrl {
  if (url.startsWith('unix://')) {
    const path = url.slice('unix://'.length);
    if (!path.startsWith('/')) throw new InvalidArgumentError(`unix URL needs an absolute path: ${url}`);
    return { kind: 'unix', path };
  }
  const rest = url.startsWith('tcp://') ? url.slice('tcp://'.length) : url;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(rest);
  if (!m) throw new InvalidArgumentError(`not a mesh URL (want unix:///path or tcp://host:port): ${url}`);
  const port = Number(m[2]);
  if (port > 65535) throw new InvalidArgumentError(`port out of range in ${url}`);
  return { kind: 'tcp', host: m[1]!, port };
}

/** The address string grpc-js understands for a mesh URL. */
export function grpcAddress(url: string): string {
  const u = parseMeshUrl(url);
  return u.kind === 'unix' ? `unix://${u.path}` : `${u.host}:${u.port}`;
}

/** Formats a mesh URL back to text (tcp URLs with the actual port). */
export function formatMeshUrl(u: MeshUrl): string {
  return u.kind === 'unix' ? `unix://${u.path}` : `tcp://${u.host}:${u.port}`;
}

const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Creates a gRPC server. Register services on it, then call `listenOn`. */
export function newGrpcServer(): Server {
  return createServer({ 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, interceptors: [peerIdentity] });
}

/** What the fast unary path (fast-unary-server.ts) applies in place of the peerIdentity interceptor. */
const fastPeerRules = (): FastPeerRules => {
  const sec = security;
  return {
    reserved: { peerId: PEER_ID_HEADER, pid: PEER_PID_HEADER, uid: PEER_UID_HEADER },
    maxMessageBytes: MAX_MESSAGE_BYTES,
    ...(sec ? { peerId: (cert: PeerCertificate) => sec.peerId(cert) } : {}),
  };
};

/**
 * Binds a server to a mesh URL; for unix sockets the directory is created and
 * a stale socket file removed. Returns the URL actually bound (port 0 resolved).
 */
export async function listenOn(server: Server, url: string): Promise<string> {
  const u = parseMeshUrl(url);
  if (u.kind === 'unix') {
    mkdirSync(dirname(u.path), { recursive: true });
    if (existsSync(u.path)) rmSync(u.path, { force: true });
  }
  const port = await listenWithFastUnary(server, fastPeerRules, () => server.listen(grpcAddress(url), security?.serverCredentials()));
  return u.kind === 'unix' ? url : formatMeshUrl({ ...u, port });
}

/**
 * The channel every client of one address holds. The grpc-js channel behind it can be replaced
 * (renewChannelInBackoff) without those clients noticing: the next call goes over a fresh connection.
 */
class SharedChannel implements ChannelInterface {
  private current: Channel;
  constructor(private readonly make: () => Channel) {
    this.current = make();
  }
  /** A fresh grpc-js channel from now on; the old one is closed (calls already on it run to their end). */
  renew(): void {
    const old = this.current;
    this.current = this.make();
    old.close();
  }
  close(): void {
    this.current.close();
  }
  getTarget(): string {
    return this.current.getTarget();
  }
  getConnectivityState(tryToConnect: boolean): ReturnType<ChannelInterface['getConnectivityState']> {
    return this.current.getConnectivityState(tryToConnect);
  }
  watchConnectivityState(...a: Parameters<ChannelInterface['watchConnectivityState']>): void {
    this.current.watchConnectivityState(...a);
  }
  getChannelzRef(): ReturnType<ChannelInterface['getChannelzRef']> {
    return this.current.getChannelzRef();
  }
  createCall(...a: Parameters<ChannelInterface['createCall']>): ReturnType<ChannelInterface['createCall']> {
    return this.current.createCall(...a);
  }
}

const channels = new Map<string, SharedChannel>();

/** A shared channel to a mesh URL (one per address per process): mTLS when security is on, else plain text. */
export function channelTo(url: string): Channel {
  const address = grpcAddress(url);
  let ch = channels.get(address);
  if (!ch) {
    ch = new SharedChannel(() =>
      createChannel(address, security?.channelCredentials() ?? ChannelCredentials.createInsecure(), {
        // The server is checked by its SPIFFE ID, not a host name; a fixed name keeps unix targets valid for TLS.
        ...(security ? { 'grpc.ssl_target_name_override': 'nsm.spiffe', 'grpc.default_authority': 'nsm.spiffe' } : {}),
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
      }),
    );
    channels.set(address, ch);
  }
  // grpc-js clients take any ChannelInterface (as their channelOverride); nice-grpc's type names the class.
  return ch as unknown as Channel;
}

/**
 * Whether the shared channel to `url` has no connection and waits out a reconnect backoff
 * (TRANSIENT_FAILURE): a call on it fails at once with UNAVAILABLE without reaching the peer.
 */
export function channelInBackoff(url: string): boolean {
  return channels.get(grpcAddress(url))?.getConnectivityState(false) === connectivityState.TRANSIENT_FAILURE;
}

/**
 * Replaces the grpc-js channel behind the shared channel to `url` with a fresh one when it waits out a
 * reconnect backoff (its peer restarted meanwhile, say); every client of the address keeps working.
 * Does nothing otherwise (another caller renewed it already: its fresh connection is not cut).
 */
export function renewChannelInBackoff(url: string): void {
  if (channelInBackoff(url)) channels.get(grpcAddress(url))?.renew();
}

/**
 * A client of a service's unary methods (NetworkService Request/Close): over the fast path (fast-unary-client.ts)
 * to plain-text peers, over the grpc-js channel with mTLS or NSM_FAST_GRPC=0.
 */
export function unaryClientTo<C>(definition: Parameters<typeof fastUnaryClient>[0], url: string, grpcClient: () => C): C {
  return fastUnaryEnabled() && !security ? fastUnaryClient<C>(definition, parseMeshUrl(url)) : grpcClient();
}

/** Closes and forgets the shared channel to a URL (e.g. after its peer died). */
export function dropChannel(url: string): void {
  dropFastSession(parseMeshUrl(url));
  const address = grpcAddress(url);
  channels.get(address)?.close();
  channels.delete(address);
}

/** Closes every shared channel (on shutdown). */
export function closeAllChannels(): void {
  closeFastSessions();
  for (const ch of channels.values()) ch.close();
  channels.clear();
}
