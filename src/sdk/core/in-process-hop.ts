// In-process hops: a component that shares its process with the hop before it (`nsm nsmgr --with-forwarder`)
// registers its NetworkService implementation under the URL it also serves on gRPC, and `connect` calls it
// directly: the same messages (deep copies, so no hop shares objects with another; cheaper than a trip through
// the wire encoding, which cost as much CPU as the rest of the hop's elements),
// the same metadata (tokens, trace context), gRPC errors as a gRPC client sees them; only the socket is saved.
import { ClientError, Metadata, ServerError, type CallContext } from 'nice-grpc-common';
import { Connection, NetworkServiceRequest, type NetworkServiceClient, type NetworkServiceImplementation } from '../../api/index.js';

const hops = new Map<string, NetworkServiceImplementation>();

/** Serves `impl` to `connect` calls for `url` in this process; returns the unregistration. */
export function registerInProcessHop(url: string, impl: NetworkServiceImplementation): () => void {
  hops.set(url, impl);
  return () => {
    if (hops.get(url) === impl) hops.delete(url);
  };
}

/** fromPartial copies strings, numbers, maps, lists and messages but shares Date objects: copy those too. */
function ownDates(conn: Connection | undefined): void {
  for (const seg of conn?.path?.pathSegments ?? []) if (seg.expires) seg.expires = new Date(seg.expires.getTime());
}

/** Deep copies of the messages, as a gRPC peer would get them. */
function copyConnection(conn: Parameters<typeof Connection.fromPartial>[0]): Connection {
  const out = Connection.fromPartial(conn);
  ownDates(out);
  return out;
}

function copyRequest(req: Parameters<typeof NetworkServiceRequest.fromPartial>[0]): NetworkServiceRequest {
  const out = NetworkServiceRequest.fromPartial(req);
  ownDates(out.connection);
  return out;
}

function callContext(metadata: Metadata | undefined, signal: AbortSignal | undefined): CallContext {
  return {
    metadata: metadata ?? new Metadata(),
    peer: 'in-process',
    header: new Metadata(),
    sendHeader: () => undefined,
    trailer: new Metadata(),
    signal: signal ?? new AbortController().signal,
  };
}

async function call<T>(path: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ServerError) throw new ClientError(path, err.code, err.details);
    throw err;
  }
}

/** A client for the hop registered under `url` in this process, if any. */
export function inProcessClient(url: string): NetworkServiceClient | undefined {
  const impl = hops.get(url);
  if (!impl) return undefined;
  return {
    request: (req, opts) =>
      call('/networkservice.NetworkService/Request', async () => {
        const conn = await impl.request(copyRequest(req), callContext(opts?.metadata, opts?.signal));
        return copyConnection(conn);
      }),
    close: (conn, opts) =>
      call('/networkservice.NetworkService/Close', async () => {
        await impl.close(copyConnection(conn), callContext(opts?.metadata, opts?.signal));
        return {};
      }),
  };
}
