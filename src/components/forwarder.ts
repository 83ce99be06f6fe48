// A forwarder: the node's data plane. Registers with its nsmgr and programs the
// kernel for every connection that passes it.
import { MonitorConnectionDefinition, NetworkServiceDefinition } from '../api/index.js';
import { KernelDriver } from '../dataplane/index.js';
import { newForwarderChain } from '../sdk/chains/forwarder.js';
import type { Logger } from '../sdk/core/log.js';
import { networkServiceImplementation } from '../sdk/core/serve-networkservice.js';
import { newTokenSigner } from '../sdk/core/token.js';
import type { ConnectionMonitor } from '../sdk/networkservice/monitor.js';
import { registryDirectory } from '../sdk/networkservice/registry-directory.js';
import { FORWARDER_SERVICE } from '../sdk/registry/forwarders.js';
import { keepRegistered } from '../sdk/registry/keep-registered.js';
import { startServer } from './grpc-server.js';

export interface ForwarderOptions {
  name: string;
  listenUrl: string;
  nsmgrUrl: string;
  underlayIp: string;
  labels?: Record<string, string>;
  tokenLifetimeMs?: number;
  log: Logger;
}

export interface RunningForwarder {
  url: string;
  monitor: ConnectionMonitor;
  stop(): Promise<void>;
}

export async function startForwarder(opts: ForwarderOptions): Promise<RunningForwarder> {
  const signer = await newTokenSigner(opts.tokenLifetimeMs);
  const driver = new KernelDriver({ logger: opts.log });
  const chain = newForwarderChain({
    name: opts.name,
    underlayIp: opts.underlayIp,
    signer,
    directory: registryDirectory(opts.nsmgrUrl),
    dataplane: driver,
  });
  const running = await startServer([opts.listenUrl], (server) => {
    server.add(NetworkServiceDefinition, networkServiceImplementation(chain.networkService, opts.log));
    server.add(MonitorConnectionDefinition, chain.monitor.implementation());
  });
  const url = running.urls[0]!;
  const registration = await keepRegistered(
    opts.nsmgrUrl,
    {
      name: opts.name,
      url,
      networkServiceNames: [FORWARDER_SERVICE],
      networkServiceLabels: { [FORWARDER_SERVICE]: { labels: { p2p: 'true', ...opts.labels } } },
    },
    { log: opts.log },
  );
  opts.log.info({ url, underlayIp: opts.underlayIp }, 'forwarder ready');
  return {
    url,
    monitor: chain.monitor,
    async stop() {
      await registration.stop();
      await running.stop();
      driver.close();
    },
  };
}
