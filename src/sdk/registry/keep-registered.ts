// Keeps an endpoint (or forwarder) registered: registers it with an expiration
// time, re-registers at two thirds of its lifetime, and unregisters on stop.
import { createClient } from 'nice-grpc';
import { NetworkServiceEndpoint, NetworkServiceEndpointRegistryDefinition } from '../../api/index.js';
import { channelTo } from '../../api/transport.js';
import type { Logger } from '../core/log.js';
import { messageOf } from '../core/errors.js';

export const DEFAULT_REGISTRATION_LIFETIME_MS = 60_000;

export interface Registration {
  /** The registration as last stored. */
  readonly current: NetworkServiceEndpoint;
  stop(): Promise<void>;
}

export async function keepRegistered(
  url: string,
  nse: Partial<NetworkServiceEndpoint>,
  opts: { log: Logger; lifetimeMs?: number; retryMs?: number },
): Promise<Registration> {
  const client = createClient(NetworkServiceEndpointRegistryDefinition, channelTo(url));
  const lifetime = opts.lifetimeMs ?? DEFAULT_REGISTRATION_LIFETIME_MS;
  let current = NetworkServiceEndpoint.fromPartial(nse);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const register = async () => {
    const item = { ...current, expirationTime: new Date(Date.now() + lifetime) };
    current = await client.register(item, { signal: AbortSignal.timeout(5000) });
  };
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      register().then(
        () => schedule((lifetime * 2) / 3),
        (err) => {
          opts.log.warn({ nse: current.name, err: messageOf(err) }, 're-registration failed; retrying');
          schedule(opts.retryMs ?? 1000);
        },
      );
    }, ms);
    timer.unref();
  };

  await register();
  opts.log.info({ nse: current.name, url: current.url, services: current.networkServiceNames }, 'registered');
  schedule((lifetime * 2) / 3);
  return {
    get current() {
      return current;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await client.unregister(current, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    },
  };
}
