// Chains for the two registries (NetworkService and NetworkServiceEndpoint):
// Register, Find (a stream, optionally watching) and Unregister pass along elements.
import type {
  NetworkService,
  NetworkServiceEndpoint,
  NetworkServiceEndpointQuery,
  NetworkServiceEndpointResponse,
  NetworkServiceQuery,
  NetworkServiceResponse,
} from '../../api/index.js';
import type { Ctx } from './ctx.js';

export interface RegistryHandler<T, Q, R> {
  register(item: T, ctx: Ctx): Promise<T>;
  find(query: Q, ctx: Ctx): AsyncIterable<R>;
  unregister(item: T, ctx: Ctx): Promise<void>;
}

export interface RegistryElement<T, Q, R> {
  register(item: T, ctx: Ctx, next: RegistryHandler<T, Q, R>): Promise<T>;
  find(query: Q, ctx: Ctx, next: RegistryHandler<T, Q, R>): AsyncIterable<R>;
  unregister(item: T, ctx: Ctx, next: RegistryHandler<T, Q, R>): Promise<void>;
}

export type NSRegistryHandler = RegistryHandler<NetworkService, NetworkServiceQuery, NetworkServiceResponse>;
export type NSRegistryElement = RegistryElement<NetworkService, NetworkServiceQuery, NetworkServiceResponse>;
export type NSERegistryHandler = RegistryHandler<NetworkServiceEndpoint, NetworkServiceEndpointQuery, NetworkServiceEndpointResponse>;
export type NSERegistryElement = RegistryElement<NetworkServiceEndpoint, NetworkServiceEndpointQuery, NetworkServiceEndpointResponse>;

function registryTail<T, Q, R>(): RegistryHandler<T, Q, R> {
  return {
    register: async (item) => item,
    find: async function* () {},
    unregister: async () => {},
  };
}

/** Assembles registry elements into one handler. */
export function registryChain<T, Q, R>(...elements: RegistryElement<T, Q, R>[]): RegistryHandler<T, Q, R> {
  let next: RegistryHandler<T, Q, R> = registryTail<T, Q, R>();
  for (let i = elements.length - 1; i >= 0; i--) {
    const el = elements[i]!;
    const after = next;
    next = {
      register: (item, ctx) => el.register(item, ctx, after),
      find: (query, ctx) => el.find(query, ctx, after),
      unregister: (item, ctx) => el.unregister(item, ctx, after),
    };
  }
  return next;
}

/** Makes a registry element from the methods it cares about; the others pass through. */
export function registryElement<T, Q, R>(parts: Partial<RegistryElement<T, Q, R>>): RegistryElement<T, Q, R> {
  return {
    register: parts.register ?? ((item, ctx, next) => next.register(item, ctx)),
    find: parts.find ?? ((query, ctx, next) => next.find(query, ctx)),
    unregister: parts.unregister ?? ((item, ctx, next) => next.unregister(item, ctx)),
  };
}
