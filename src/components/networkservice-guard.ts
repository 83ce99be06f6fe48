// Serves networkservice.NetworkService behind a wire check: a Request or Close whose
// bytes are malformed (wrong wire types, truncated, invalid UTF-8, prototype map keys,
// negative timestamp nanos) gets INVALID_ARGUMENT naming the field, where grpc-js would
// answer INTERNAL for a decoder that throws and the decoder would silently repair the rest.
import type { Server } from 'nice-grpc';
import { ServerError, Status } from 'nice-grpc-common';
import { NetworkServiceDefinition, type NetworkServiceImplementation } from '../api/index.js';
import { registerFastUnary } from '../api/fast-unary-server.js';
import { CONNECTION, NETWORK_SERVICE_REQUEST, wireProblem, type Schema } from '../registry/wire-check.js';

const BAD = Symbol('bad request');

interface Decodable {
  decode(input: Uint8Array): unknown;
}

function guarded<M extends Decodable>(type: M, schema: Schema, root: string): M {
  return {
    ...type,
    decode: (input: Uint8Array): unknown => {
      const problem = wireProblem(input, schema, root);
      if (problem) return { [BAD]: problem };
      try {
        return type.decode(input);
      } catch (err) {
        return { [BAD]: `${root}: malformed message: ${err instanceof Error ? err.message : String(err)}` };
      }
    },
  };
}

function reject(req: unknown): void {
  if (typeof req === 'object' && req !== null && BAD in req) {
    throw new ServerError(Status.INVALID_ARGUMENT, String((req as { [BAD]: string })[BAD]));
  }
}

const m = NetworkServiceDefinition.methods;
export const guardedNetworkServiceDefinition = {
  ...NetworkServiceDefinition,
  methods: {
    request: { ...m.request, requestType: guarded(m.request.requestType, NETWORK_SERVICE_REQUEST, 'request') },
    close: { ...m.close, requestType: guarded(m.close.requestType, CONNECTION, 'connection') },
  },
} as typeof NetworkServiceDefinition;

/** Adds the NetworkService service, guarded, to a server. */
export function addNetworkService(server: Server, impl: NetworkServiceImplementation): void {
  const guardedImpl: NetworkServiceImplementation = {
    request: async (req, ctx) => {
      reject(req);
      return impl.request(req, ctx);
    },
    close: async (conn, ctx) => {
      reject(conn);
      return impl.close(conn, ctx);
    },
  };
  server.add(guardedNetworkServiceDefinition, guardedImpl);
  // The same methods, served without grpc-js's per-call layers (api/fast-unary-server.ts).
  registerFastUnary(server, guardedNetworkServiceDefinition, guardedImpl as never);
}
