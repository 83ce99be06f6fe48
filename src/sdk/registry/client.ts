// Typed clients of a registry (both services over one shared channel) and an NSE
// refresher that keeps a registration alive: it re-registers at two thirds of the
// granted lifetime, as upstream's refresh client does, and unregisters on stop.
import { createClient } from 'nice-grpc';
import { instanceMetadata } from '../core/grpc-metadata.js';
import {
  channelTo,
  NetworkServiceEndpoint,
  NetworkServiceEndpointRegistryDefinition,
  NetworkServiceRegistryDefinition,
  type NetworkServiceEndpointRegistryClient,
  type NetworkServiceRegistryClient,
} from '../../api/index.js';
import { silentLogger, type Logger } from '../core/log.js';
import { Backoff } from '../tools/backoff.js';

export interface RegistryClients {
  ns: NetworkServiceRegistryClient;
  nse: NetworkServiceEndpointRegistryClient;
}

/** Clients of both registries at `url` (unix:///path or tcp://host:port). */
export function registryClients(url: string): RegistryClients {
  const channel = channelTo(url);
  return {
    ns: createClient(NetworkServiceRegistryDefinition, channel),
    nse: createClient(NetworkServiceEndpointRegistryDefinition, channel),
  };
}

export interface NseRefresherOptions {
  /** Lifetime requested on each registration (default one minute). */
  lifetimeMs?: number;
  /** Delay before retrying a failed re-registration (default 1 s). */
  retryMs?: number;
  log?: Logger;
  /** Milliseconds since the epoch (tests may pass a fake clock). */
  now?: () => number;
}

export interface NseRefresher {
  /** The registration as last returned by the registry. */
  current(): NetworkServiceEndpoint;
  /** Registers again now (e.g. the nsmgr restarted and forgot it); retries every `retryMs` until it works. */
  refreshNow(): void;
  /** Stops refreshing and unregisters (errors of the unregister are logged, not thrown). */
  stop(): Promise<void>;
}

/**
 * Registers `nse` (throws if the first registration fails), then keeps it registered
 * until `stop()`.
 */
export async function nseRefresher(
  client: NetworkServiceEndpointRegistryClient,
  nse: Partial<NetworkServiceEndpoint>,
  opts: NseRefresherOptions = {},
): Promise<NseRefresher> {
  const lifetimeMs = opts.lifetimeMs ?? 60_000;
  const retryMs = opts.retryMs ?? 1000;
  // A steady retry interval, jittered so endpoints that lost their nsmgr together do not retry together.
  const retry = new Backoff({ initialMs: retryMs, multiplier: 1, maxMs: retryMs });
  const log = opts.log ?? silentLogger;
  const now = opts.now ?? Date.now;
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const register = async (): Promise<NetworkServiceEndpoint> =>
    client.register({ ...nse, expirationTime: new Date(now() + lifetimeMs) }, { signal: abort.signal, metadata: instanceMetadata() });

  /** Two thirds of the remaining lifetime granted by the registry (which may shorten it). */
  const delayFor = (reg: NetworkServiceEndpoint): number => {
    const granted = reg.expirationTime ? reg.expirationTime.getTime() - now() : lifetimeMs;
    return Math.max(Math.floor((granted * 2) / 3), 10);
  };

  let current = await register();
  log.debug({ nse: current.name, expiresAt: current.expirationTime }, 'nse registered');

  const schedule = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      register().then(
        (reg) => {
          current = reg;
          log.debug({ nse: reg.name, expiresAt: reg.expirationTime }, 'nse refreshed');
          schedule(delayFor(reg));
        },
        (err: unknown) => {
          if (stopped) return;
          const delay = retry.next();
          log.warn({ nse: current.name, err, retryMs: delay }, 'nse refresh failed');
          schedule(delay);
        },
      );
    }, delay);
    timer.unref();
  };
  schedule(delayFor(current));

  return {
    current: () => current,
    refreshNow() {
      if (stopped) return;
      if (timer) clearTimeout(timer);
      schedule(0);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      abort.abort();
      try {
        await client.unregister(current, { metadata: instanceMetadata() });
        log.debug({ nse: current.name }, 'nse unregistered');
      } catch (err) {
        log.warn({ nse: current.name, err }, 'nse unregister failed');
      }
    },
  };
}
