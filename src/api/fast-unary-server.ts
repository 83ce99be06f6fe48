// The lean server side of chosen unary gRPC methods (NetworkService Request/Close): their HTTP/2 streams are
// taken before grpc-js sees them and served directly (frame, decode, handler, encode, one respond), with the
// same metadata, peer identity (SO_PEERCRED, verified SPIFFE ID), statuses and cancellation as through grpc-js,
// which per call runs several times more JS (interceptor, call and channelz layers); all other methods stay
// with grpc-js on the same socket. NSM_FAST_GRPC=0 turns it off. See README "Transport".
import http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { CallContext, Metadata } from 'nice-grpc-common';
import { ServerError, Status } from 'nice-grpc-common';
import { encodeGrpcMessage, FINAL_MESSAGE_HEADER, frame, headersToMetadata, openWindow, parseTimeout, unframe, WireError } from './grpc-wire.js';
import { parseUnixPeer } from './unix-peer.js';

/** The parts of a nice-grpc method definition the fast path needs. */
interface UnaryMethodDef {
  /** The method's name as in the .proto (the call's path is /<service fullName>/<name>). */
  name: string;
  requestStream: boolean;
  responseStream: boolean;
  requestType: { decode(input: Uint8Array): unknown };
  responseType: { encode(message: never): { finish(): Uint8Array } };
}

type UnaryHandler = (req: never, ctx: CallContext) => Promise<unknown>;

interface FastMethod {
  decode(input: Uint8Array): unknown;
  encode(message: unknown): Uint8Array;
  handler: UnaryHandler;
}

/** How the fast path learns who calls (set by transport.ts: header names, mTLS peer check). */
export interface FastPeerRules {
  /** Metadata keys only the transport may set (removed from what the caller sent). */
  reserved: { peerId: string; pid: string; uid: string };
  /** The verified SPIFFE ID of a TLS peer's certificate, or throws why it is refused (undefined: plain text). */
  peerId?: (cert: NonNullable<ReturnType<TLSSocket['getPeerCertificate']>>) => string;
  maxMessageBytes: number;
}

export const fastUnaryEnabled = () => process.env.NSM_FAST_GRPC !== '0';

let servedCount = 0;
/** Calls served over the fast path in this process (for tests and diagnostics). */
export const fastUnaryServed = () => servedCount;

/** Methods each nice-grpc server registered for the fast path (before it listens). */
const registered = new WeakMap<object, Map<string, FastMethod>>();
/** The fast methods each HTTP/2 server (one per bound address) serves. */
const served = new WeakMap<http2.Http2Server | http2.Http2SecureServer, { methods: Map<string, FastMethod>; rules: () => FastPeerRules }>();

/** Registers the unary methods of a service definition on a nice-grpc server for the fast path. */
export function registerFastUnary(server: object, definition: { fullName: string; methods: Record<string, UnaryMethodDef> }, impl: Record<string, UnaryHandler>): void {
  if (!fastUnaryEnabled()) return;
  let methods = registered.get(server);
  if (!methods) registered.set(server, (methods = new Map<string, FastMethod>()));
  for (const [name, m] of Object.entries(definition.methods)) {
    const handler = impl[name];
    if (m.requestStream || m.responseStream || !handler) continue;
    methods.set(`/${definition.fullName}/${m.name}`, { decode: (b) => m.requestType.decode(b), encode: (msg) => m.responseType.encode(msg as never).finish(), handler });
  }
}

let created: (http2.Http2Server | http2.Http2SecureServer)[] | undefined;
let lock: Promise<unknown> = Promise.resolve();

/**
 * Runs `listen` (a nice-grpc server binding one address) and gives every HTTP/2 server created meanwhile the
 * server's fast methods. Binds run one at a time, so the servers created belong to this bind.
 */
export async function listenWithFastUnary<T>(server: object, rules: () => FastPeerRules, listen: () => Promise<T>): Promise<T> {
  installInterception();
  const run = lock.then(async () => {
    created = [];
    try {
      const out = await listen();
      const methods = registered.get(server);
      if (methods?.size) for (const h of created) served.set(h, { methods, rules });
      return out;
    } finally {
      created = undefined;
    }
  });
  lock = run.catch(() => undefined);
  return run;
}

let installed = false;

/** Wraps http2's server factories so that a server's 'stream' events for fast methods are served here. */
function installInterception(): void {
  if (installed) return;
  installed = true;
  const wrap = <S extends http2.Http2Server | http2.Http2SecureServer>(make: (...a: unknown[]) => S) => (...a: unknown[]) => {
    const s = make(...a);
    created?.push(s);
    s.on('session', (session: http2.ServerHttp2Session) => {
      if (served.has(s)) openWindow(session);
    });
    const emit = s.emit.bind(s) as (event: string | symbol, ...args: unknown[]) => boolean;
    s.emit = function (this: S, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'stream') {
        const fast = served.get(this);
        const headers = args[1] as http2.IncomingHttpHeaders;
        const m = fast?.methods.get(headers[':path'] ?? '');
        if (fast && m && String(headers['content-type'] ?? '').startsWith('application/grpc')) {
          servedCount++;
          serveUnary(args[0] as http2.ServerHttp2Stream, headers, m, fast.rules());
          return true;
        }
      }
      return emit(event, ...args);
    } as S['emit'];
    return s;
  };
  const h = http2 as unknown as { createServer: (...a: unknown[]) => http2.Http2Server; createSecureServer: (...a: unknown[]) => http2.Http2SecureServer };
  h.createServer = wrap(h.createServer.bind(http2));
  h.createSecureServer = wrap(h.createSecureServer.bind(http2));
}

function respondError(stream: http2.ServerHttp2Stream, code: Status, details: string): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(details) }, { endStream: true });
}

/** The caller's metadata with the transport's own keys set from the socket (never from the caller). */
function incomingMetadata(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rules: FastPeerRules): Metadata | ServerError {
  const md = headersToMetadata(headers);
  md.delete(rules.reserved.peerId);
  md.delete(rules.reserved.pid);
  md.delete(rules.reserved.uid);
  const socket = stream.session?.socket;
  const unix = parseUnixPeer(socket?.remoteAddress);
  if (unix) {
    md.set(rules.reserved.pid, String(unix.pid));
    md.set(rules.reserved.uid, String(unix.uid));
  }
  const tls = socket as TLSSocket | undefined;
  if (rules.peerId && tls && typeof tls.getPeerCertificate === 'function') {
    const cert = tls.getPeerCertificate();
    if (cert?.raw) {
      try {
        md.set(rules.reserved.peerId, rules.peerId(cert));
      } catch (err) {
        return new ServerError(Status.UNAUTHENTICATED, `peer certificate refused: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
  return md;
}

function serveUnary(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, m: FastMethod, rules: FastPeerRules): void {
  const abort = new AbortController();
  let done = false;
  const deadlineMs = parseTimeout(headers['grpc-timeout'] as string | undefined);
  const deadline = deadlineMs === undefined ? undefined : setTimeout(() => {
    respondError(stream, Status.DEADLINE_EXCEEDED, 'Deadline exceeded');
    abort.abort();
  }, deadlineMs);
  const finish = () => {
    done = true;
    if (deadline) clearTimeout(deadline);
  };
  stream.on('close', () => {
    if (!done) abort.abort();
    finish();
  });
  stream.on('error', () => undefined);
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= rules.maxMessageBytes + 5) chunks.push(c);
  });
  stream.on('end', () => {
    void (async () => {
      try {
        if (size > rules.maxMessageBytes + 5) throw new WireError(Status.RESOURCE_EXHAUSTED, `message of ${size - 5} bytes exceeds the limit of ${rules.maxMessageBytes}`);
        const payload = unframe(Buffer.concat(chunks, size), headers['grpc-encoding'] as string | undefined, rules.maxMessageBytes);
        if (!payload) throw new WireError(Status.INTERNAL, 'received no request message');
        const md = incomingMetadata(stream, headers, rules);
        if (md instanceof ServerError) throw md;
        const req = m.decode(payload);
        const ctx = { metadata: md, signal: abort.signal, peer: String(stream.session?.socket?.remoteAddress ?? ''), header: undefined, trailer: undefined, sendHeader: () => undefined } as unknown as CallContext;
        const res = await m.handler(req as never, ctx);
        if (stream.destroyed || stream.closed || stream.headersSent) return;
        const body = frame(m.encode(res));
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', [FINAL_MESSAGE_HEADER]: '1' }, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
        stream.end(body);
      } catch (err) {
        if (err instanceof ServerError || err instanceof WireError) respondError(stream, err.code, err instanceof ServerError ? err.details : err.message);
        else if (err instanceof Error && err.name === 'AbortError') respondError(stream, Status.CANCELLED, 'Cancelled');
        else respondError(stream, Status.UNKNOWN, 'Unknown server error occurred');
      } finally {
        finish();
      }
    })();
  });
}
