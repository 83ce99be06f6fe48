// The lean client side of unary gRPC calls (NetworkService Request/Close to the next hop): one HTTP/2 session
// per peer address, each call one stream (headers and message in one write), the answer read from the
// response and its trailers. Statuses, metadata and cancellation as through grpc-js (ClientError with the
// peer's code and message; UNAVAILABLE when the peer cannot be reached; AbortError when the signal aborts).
// Used for plain-text peers; with mTLS the grpc-js channel is used (transport.ts decides).
import http2 from 'node:http2';
import net from 'node:net';
import { ClientError, Status, type Metadata } from 'nice-grpc-common';
import { decodeGrpcMessage, FINAL_MESSAGE_HEADER, frame, metadataToHeaders, openWindow, unframe, WireError } from './grpc-wire.js';

/** A peer's address (transport.ts MeshUrl has the same shape). */
type MeshUrl = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export interface FastCallOptions {
  signal?: AbortSignal;
  metadata?: Metadata;
}

const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const USER_AGENT = 'nsm-ts-fast-unary/1';

const sessions = new Map<string, http2.ClientHttp2Session>();

function keyOf(u: MeshUrl): string {
  return u.kind === 'unix' ? `unix:${u.path}` : `tcp:${u.host}:${u.port}`;
}

/** The session to a peer; `fresh` when made for this call (a failure on it is not a stale connection's). */
function sessionFor(u: MeshUrl): { session: http2.ClientHttp2Session; fresh: boolean } {
  const key = keyOf(u);
  const known = sessions.get(key);
  if (known && !known.closed && !known.destroyed) return { session: known, fresh: false };
  const host = u.kind === 'tcp' ? u.host : 'localhost';
  const s =
    u.kind === 'unix'
      ? http2.connect('http://localhost', { createConnection: () => net.connect(u.path) })
      : http2.connect(`http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${u.port}`);
  const forget = () => {
    if (sessions.get(key) === s) sessions.delete(key);
  };
  s.on('error', forget);
  s.on('close', forget);
  s.on('goaway', forget);
  s.once('connect', () => openWindow(s));
  sessions.set(key, s);
  return { session: s, fresh: true };
}

/** Calls in flight per session: a session keeps the process alive only while it has some (as grpc-js channels). */
const active = new WeakMap<http2.ClientHttp2Session, number>();
function hold(s: http2.ClientHttp2Session, d: 1 | -1): void {
  const n = (active.get(s) ?? 0) + d;
  active.set(s, n);
  if (n === 1 && d === 1) s.ref();
  else if (n === 0 && !s.destroyed) s.unref();
}

/** Closes every fast session (shutdown, or the transport's security changed). */
export function closeFastSessions(): void {
  for (const s of sessions.values()) s.close();
  sessions.clear();
}

/** Closes the session to one peer (its process went away). */
export function dropFastSession(u: MeshUrl): void {
  const key = keyOf(u);
  sessions.get(key)?.close();
  sessions.delete(key);
}

function abortError(): Error {
  const e = new Error('The operation has been aborted');
  e.name = 'AbortError';
  return e;
}

/** How grpc-js words a peer it cannot reach (errors.ts readableTransportError turns it into words). */
function unreachable(path: string, err: unknown): ClientError {
  // A stream that never got a connection carries the socket's error as its cause.
  const root = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const text = root instanceof Error ? root.message : String(root);
  return new ClientError(path, Status.UNAVAILABLE, `No connection established. Last error: ${text}`);
}

/** One unary call: `body` is the encoded request; resolves with the encoded response. */
export function fastUnaryCall(u: MeshUrl, path: string, body: Uint8Array, opts: FastCallOptions = {}, retried = false): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    if (opts.signal?.aborted) return reject(abortError());
    let session: http2.ClientHttp2Session;
    let fresh: boolean;
    let stream: http2.ClientHttp2Stream;
    try {
      ({ session, fresh } = sessionFor(u));
      const headers = metadataToHeaders(opts.metadata, {
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/grpc',
        te: 'trailers',
        'user-agent': USER_AGENT,
      });
      stream = session.request(headers);
    } catch (err) {
      return reject(unreachable(path, err));
    }
    hold(session, 1);
    stream.once('close', () => hold(session, -1));
    let settled = false;
    let status: string | undefined;
    let message: string | undefined;
    let httpStatus: number | undefined;
    let encoding: string | undefined;
    /** The answer is marked final by our own server (FINAL_MESSAGE_HEADER). */
    let final = false;
    const chunks: Buffer[] = [];
    let size = 0;
    const onAbort = () => {
      if (settled) return;
      settled = true;
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(abortError());
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const readStatus = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) {
        status = String(h['grpc-status']);
        message = decodeGrpcMessage(h['grpc-message'] as string | undefined);
      }
    };
    stream.on('response', (h) => {
      httpStatus = Number(h[':status']);
      encoding = h['grpc-encoding'] as string | undefined;
      final = httpStatus === 200 && h[FINAL_MESSAGE_HEADER] === '1' && h['grpc-status'] === undefined;
      readStatus(h);
    });
    stream.on('trailers', (h: http2.IncomingHttpHeaders) => {
      readStatus(h);
      // The trailers end the answer: settled now when the message before them is whole (the stream's close comes a turn later).
      if (status !== undefined && (status !== '0' || wholeMessage())) settle(conclude);
    });
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_MESSAGE_BYTES + 5) chunks.push(c);
      // Our own server's answer: whole once its message is, the OK status a turn behind it (FINAL_MESSAGE_HEADER).
      if (final && wholeMessage()) {
        status = '0';
        settle(conclude);
      }
    });
    /**
     * Sends the call once more on a new session when the old one failed before any answer: the server refused
     * the stream (GOAWAY, REFUSED_STREAM), or a session made for earlier calls was dead (its peer restarted and
     * the close was not seen yet). A Request or Close carries its connection's identity, so a copy that did
     * reach a peer that then died is harmless.
     */
    const onceMore = (refused: boolean): boolean => {
      if (retried || opts.signal?.aborted || !(refused || (httpStatus === undefined && !fresh))) return false;
      dropFastSession(u);
      fastUnaryCall(u, path, body, opts, true).then(resolve, reject);
      return true;
    };
    stream.on('error', (err: Error) => {
      const refused = stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM || (err as { code?: string }).code === 'ERR_HTTP2_GOAWAY_SESSION';
      settle(() => {
        if (!onceMore(refused)) reject(httpStatus === undefined ? unreachable(path, err) : new ClientError(path, Status.UNAVAILABLE, err.message));
      });
    });
    /** Whether the data received so far is exactly one length-prefixed message. */
    const wholeMessage = () => size >= 5 && size === 5 + (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).readUInt32BE(1);
    const conclude = () => {
      const code = Number(status) as Status;
      if (code !== Status.OK) return reject(new ClientError(path, code, message ?? ''));
      try {
        const out = unframe(Buffer.concat(chunks, size), encoding, MAX_MESSAGE_BYTES);
        if (!out) return reject(new ClientError(path, Status.UNIMPLEMENTED, 'no response message in a unary call'));
        resolve(out);
      } catch (err) {
        reject(new ClientError(path, err instanceof WireError ? err.code : Status.INTERNAL, err instanceof Error ? err.message : String(err)));
      }
    };
    stream.on('close', () =>
      settle(() => {
        if (status === undefined) {
          if (onceMore(stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM)) return;
          const why = httpStatus === undefined ? `stream closed (code ${stream.rstCode})` : httpStatus === 200 ? 'no grpc-status in the answer' : `HTTP status ${httpStatus}`;
          return reject(new ClientError(path, httpStatus === undefined || httpStatus === 200 ? Status.UNAVAILABLE : Status.UNKNOWN, why));
        }
        conclude();
      }),
    );
    stream.end(frame(body));
  });
}

/** The parts of a nice-grpc method definition a fast client needs. */
interface UnaryMethodDef {
  /** The method's name as in the .proto (the call's path is /<service fullName>/<name>). */
  name: string;
  requestStream: boolean;
  responseStream: boolean;
  requestType: { encode(message: never): { finish(): Uint8Array } };
  responseType: { decode(input: Uint8Array): unknown };
}

/** A client of a service's unary methods over the fast path (same method names and call shape as nice-grpc's). */
export function fastUnaryClient<C>(definition: { fullName: string; methods: Record<string, UnaryMethodDef> }, u: MeshUrl): C {
  const client: Record<string, (req: unknown, opts?: FastCallOptions) => Promise<unknown>> = {};
  for (const [name, m] of Object.entries(definition.methods)) {
    if (m.requestStream || m.responseStream) continue;
    client[name] = async (req, opts) => m.responseType.decode(await fastUnaryCall(u, `/${definition.fullName}/${m.name}`, m.requestType.encode(req as never).finish(), opts));
  }
  return client as C;
}
