// Adapts registry chains to the gRPC registry services (server side); echoes the
// `path` header and maps errors to gRPC statuses.
import type { CallContext } from 'nice-grpc-common';
import type {
  NetworkServiceEndpointRegistryServiceImplementation,
  NetworkServiceRegistryServiceImplementation,
} from '../../api/index.js';
import { newCtx, type Ctx } from './ctx.js';
import { toServerError } from '../../api/errors.js';
import { incomingFrom, PATH_HEADER } from './grpc-metadata.js';
import type { Logger } from './log.js';
import type { RegistryHandler, NSERegistryHandler, NSRegistryHandler } from './registry-chain.js';

function callCtx(call: CallContext, log: Logger): Ctx {
  const path = call.metadata.get(PATH_HEADER);
  if (typeof path === 'string') call.header.set(PATH_HEADER, path);
  return newCtx({ signal: call.signal, log, incoming: incomingFrom(call.metadata) });
}

function implementation<T, Q, R>(handler: RegistryHandler<T, Q, R>, log: Logger, what: string) {
  return {
    async register(item: T, call: CallContext): Promise<T> {
      try {
        return await handler.register(item, callCtx(call, log));
      } catch (err) {
        log.warn({ err }, `${what} register failed`);
        throw toServerError(err);
      }
    },
    async *find(query: Q, call: CallContext): AsyncIterable<R> {
      try {
        yield* handler.find(query, callCtx(call, log));
      } catch (err) {
        if (call.signal.aborted) return;
        throw toServerError(err);
      }
    },
    async unregister(item: T, call: CallContext) {
      try {
        await handler.unregister(item, callCtx(call, log));
        return {};
      } catch (err) {
        log.warn({ err }, `${what} unregister failed`);
        throw toServerError(err);
      }
    },
  };
}

export function nsRegistryImplementation(handler: NSRegistryHandler, log: Logger): NetworkServiceRegistryServiceImplementation {
  return implementation(handler, log, 'ns');
}

export function nseRegistryImplementation(handler: NSERegistryHandler, log: Logger): NetworkServiceEndpointRegistryServiceImplementation {
  return implementation(handler, log, 'nse');
}
