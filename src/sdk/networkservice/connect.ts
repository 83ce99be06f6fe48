// connect: the client side of a hop. Sends the Request (or Close) to the next
// hop's URL over gRPC (or in-process, see core/in-process-hop) with this hop's token in the metadata, and remembers per
// connection where it went so that Close and refresh reach the same peer.
import { createClient, Metadata } from 'nice-grpc';
import { NetworkServiceDefinition, type Connection, type NetworkServiceClient } from '../../api/index.js';
import { channelTo, unaryClientTo } from '../../api/transport.js';
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
function clientFor(url: string): NetworkServiceClient {
  const local = inProcessClient(url);
  if (local) return local;
  let c = clients.get(url);
  if (!c) {
    c = unaryClientTo<NetworkServiceClient>(NetworkServiceDefinition, url, () => createClient(NetworkServiceDefinition, channelTo(url)));
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
        const conn = await clientFor(url).request(req, { signal: ctx.signal, metadata: metadataFor(req.connection!, ctx) });
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
        await clientFor(url).close(conn, { signal: ctx.signal, metadata: metadataFor(conn, ctx) });
      } catch (err) {
        ctx.log.warn({ connId: conn.id, url, err }, 'close: next hop did not answer');
      }
    },
  });
}
