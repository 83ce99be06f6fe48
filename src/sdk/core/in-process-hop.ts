// In-process hops: a component that shares its process with the hop before it (`nsm nsmgr --with-forwarder`)
// registers its NetworkService implementation under the URL it also serves on gRPC, and `connect` calls it
// directly: the same messages (copied through their wire encoding, so no hop shares objects with another),
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
        const copy = NetworkServiceRequest.decode(NetworkServiceRequest.encode(NetworkServiceRequest.fromPartial(req)).finish());
        const conn = await impl.request(copy, callContext(opts?.metadata, opts?.signal));
        return Connection.decode(Connection.encode(Connection.fromPartial(conn)).finish());
      }),
    close: (conn, opts) =>
      call('/networkservice.NetworkService/Close', async () => {
        const copy = Connection.decode(Connection.encode(Connection.fromPartial(conn)).finish());
        await impl.close(copy, callContext(opts?.metadata, opts?.signal));
        return {};
      }),
  };
}
