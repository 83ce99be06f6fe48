// connect: the client side of a hop. Sends the Request (or Close) to the next
// hop's URL over gRPC (or in-process, see core/in-process-hop) with this hop's token in the metadata, and remembers per
// connection where it went so that Close and refresh reach the same peer. A call that fails only because the
// channel waits out a reconnect backoff (the peer restarted within the last second) is sent once more at once
// (over grpc-js channels; the fast path, api/fast-unary-client.ts, retries a dead session itself).
import { createClient, Metadata } from 'nice-grpc';
import { NetworkServiceDefinition, type Connection, type NetworkServiceClient } from '../../api/index.js';
import { channelInBackoff, channelTo, renewChannelInBackoff, unaryClientTo } from '../../api/transport.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { createContextKey, type Ctx } from '../core/ctx.js';
import { UnavailableError, statusOf, Status, messageOf, MeshError } from '../../api/errors.js';
import { instanceMetadata, TOKEN_EXPIRES_HEADER, TOKEN_HEADER } from '../core/grpc-metadata.js';
import { TRACE_HEADERS } from '../core/tracing.js';
import { inProcessClient } from '../core/in-process-hop.js';

/** Per connection: the URL its last successful Request went to. */
const CONNECTED_URL = createContextKey<string>('connect.url');

/** Where the connection was sent last (set by `connect`). */
export function connectedUrl(ctx: Ctx): string | undefined {
  return ctx.metadata.get(CONNECTED_URL);
}

/** Records where the connection went (what `connect` does; for fakes of the next hop in tests). */
export function setConnectedUrl(ctx: Ctx, url: string): void {
  ctx.metadata.set(CONNECTED_URL, url);
}

const clients = new Map<string, NetworkServiceClient>();
/** Peers reached over grpc-js channels (the fast path has no reconnect backoff: it retries on its own). */
const overChannel = new Set<string>();
function clientFor(url: string): NetworkServiceClient {
  const local = inProcessClient(url);
  if (local) return local;
  let c = clients.get(url);
  if (!c) {
    c = unaryClientTo<NetworkServiceClient>(NetworkServiceDefinition, url, () => (overChannel.add(url), createClient(NetworkServiceDefinition, channelTo(url))));
    clients.set(url, c);
  }
  return c;
}

function metadataFor(conn: Connection, ctx: Ctx): Metadata {
  const md = instanceMetadata(new Metadata());
  const trace = ctx.values.get(TRACE_HEADERS);
  if (trace?.traceparent) md.set('traceparent', trace.traceparent);
  if (trace?.tracestate) md.set('tracestate', trace.tracestate);
  const seg = conn.path?.pathSegments[conn.path.index];
  if (seg?.token) md.set(TOKEN_HEADER, seg.token);
  if (seg?.expires) md.set(TOKEN_EXPIRES_HEADER, seg.expires.toISOString());
  return md;
}

/**
 * Runs `call` to the peer at `url`. When it fails UNAVAILABLE at the transport, that is the channel had
 * no connection and waited out a reconnect backoff (before or after the call), the channel is renewed and
 * `call` runs once more at once. A peer's own answer never comes back from a channel in backoff, so it is
 * never sent twice; an in-process hop has no channel.
 */
async function onceMoreAfterBackoff<T>(url: string, ctx: Ctx, call: () => Promise<T>): Promise<T> {
  if (!overChannel.has(url)) return call();
  const before = channelInBackoff(url);
  try {
    return await call();
  } catch (err) {
    if (ctx.signal.aborted || statusOf(err) !== Status.UNAVAILABLE || !(before || channelInBackoff(url)) || inProcessClient(url)) throw err;
    ctx.log.debug({ url, err: messageOf(err) }, 'next hop: channel in reconnect backoff; once more on a fresh channel');
    renewChannelInBackoff(url);
    return call();
  }
}

/** Rethrows a gRPC client error as a MeshError naming the peer. */
function peerError(url: string, err: unknown): never {
  if (err instanceof Error && err.name === 'AbortError') throw err;
  const code = statusOf(err);
  if (code === Status.UNAVAILABLE || code === Status.UNKNOWN) throw new UnavailableError(`${url}: ${messageOf(err)}`, { cause: err });
  throw new MeshError(code, messageOf(err), { cause: err });
}

/** `urlOf` says where this request goes (e.g. a fixed nsmgr URL, or a URL chosen earlier in the chain). */
export function connect(urlOf: (ctx: Ctx) => string | undefined): NetworkServiceElement {
  return element({
    async request(req, ctx) {
      const url = urlOf(ctx) ?? connectedUrl(ctx);
      if (!url) throw new UnavailableError('no next hop to connect to');
      const previous = connectedUrl(ctx);
      try {
        const client = clientFor(url);
        const conn = await onceMoreAfterBackoff(url, ctx, () => client.request(req, { signal: ctx.signal, metadata: metadataFor(req.connection!, ctx) }));
        ctx.metadata.set(CONNECTED_URL, url);
        return conn;
      } catch (err) {
        if (previous && previous !== url) ctx.metadata.set(CONNECTED_URL, previous);
        peerError(url, err);
      }
    },
    async close(conn, ctx) {
      const url = connectedUrl(ctx) ?? urlOf(ctx);
      if (!url) return;
      try {
        const client = clientFor(url);
        await onceMoreAfterBackoff(url, ctx, () => client.close(conn, { signal: ctx.signal, metadata: metadataFor(conn, ctx) }));
      } catch (err) {
        ctx.log.warn({ connId: conn.id, url, err }, 'close: next hop did not answer');
      }
    },
  });
}
