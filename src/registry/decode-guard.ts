// Makes malformed registry requests fail with INVALID_ARGUMENT naming the field:
// grpc-js answers INTERNAL when a request decoder throws, so the guarded decoder
// returns a marked placeholder instead and the guarded handler rejects it.
import { ServerError, Status } from 'nice-grpc-common';
import {
  NetworkServiceEndpointRegistryDefinition,
  NetworkServiceRegistryDefinition,
  type NetworkServiceEndpointRegistryServiceImplementation,
  type NetworkServiceRegistryServiceImplementation,
} from '../api/index.js';
import {
  NETWORK_SERVICE,
  NETWORK_SERVICE_ENDPOINT,
  NETWORK_SERVICE_ENDPOINT_QUERY,
  NETWORK_SERVICE_QUERY,
  wireProblem,
  type Schema,
} from './wire-check.js';

const BAD_REQUEST = Symbol('bad request');

interface Decodable {
  decode(input: Uint8Array): unknown;
}

function guardedType<M extends Decodable>(type: M, schema: Schema, root: string): M {
  const decode = (input: Uint8Array): unknown => {
    const problem = wireProblem(input, schema, root);
    if (problem) return { [BAD_REQUEST]: problem };
    try {
      return type.decode(input);
    } catch (err) {
      return { [BAD_REQUEST]: `${root}: malformed message: ${err instanceof Error ? err.message : String(err)}` };
    }
  };
  return { ...type, decode };
}

function rejectBad(req: unknown): void {
  if (typeof req === 'object' && req !== null && BAD_REQUEST in req) {
    throw new ServerError(Status.INVALID_ARGUMENT, String((req as { [BAD_REQUEST]: string })[BAD_REQUEST]));
  }
}

interface RegistryImpl<T, Q, R, E, C> {
  register(request: T, context: C): Promise<T | Partial<T>>;
  find(request: Q, context: C): AsyncIterable<R>;
  unregister(request: T, context: C): Promise<E>;
}

function guardImpl<T, Q, R, E, C>(impl: RegistryImpl<T, Q, R, E, C>): RegistryImpl<T, Q, R, E, C> {
  return {
    register: async (req, ctx) => {
      rejectBad(req);
      return impl.register(req, ctx);
    },
    find: async function* (req, ctx) {
      rejectBad(req);
      yield* impl.find(req, ctx);
    },
    unregister: async (req, ctx) => {
      rejectBad(req);
      return impl.unregister(req, ctx);
    },
  };
}

function guardedDefinition<D extends { methods: Record<'register' | 'find' | 'unregister', { requestType: Decodable }> }>(
  def: D,
  itemSchema: Schema,
  itemRoot: string,
  querySchema: Schema,
): D {
  const m = def.methods;
  return {
    ...def,
    methods: {
      register: { ...m.register, requestType: guardedType(m.register.requestType, itemSchema, itemRoot) },
      find: { ...m.find, requestType: guardedType(m.find.requestType, querySchema, 'query') },
      unregister: { ...m.unregister, requestType: guardedType(m.unregister.requestType, itemSchema, itemRoot) },
    },
  };
}

export const guardedNSRegistryDefinition = guardedDefinition(
  NetworkServiceRegistryDefinition,
  NETWORK_SERVICE,
  'network_service',
  NETWORK_SERVICE_QUERY,
);

export const guardedNSERegistryDefinition = guardedDefinition(
  NetworkServiceEndpointRegistryDefinition,
  NETWORK_SERVICE_ENDPOINT,
  'network_service_endpoint',
  NETWORK_SERVICE_ENDPOINT_QUERY,
);

export function guardNSImplementation(
  impl: NetworkServiceRegistryServiceImplementation,
): NetworkServiceRegistryServiceImplementation {
  return guardImpl(impl as RegistryImpl<never, never, never, never, never>);
}

export function guardNSEImplementation(
  impl: NetworkServiceEndpointRegistryServiceImplementation,
): NetworkServiceEndpointRegistryServiceImplementation {
  return guardImpl(impl as RegistryImpl<never, never, never, never, never>);
}
