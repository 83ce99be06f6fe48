// A forwarder: the node's data plane. Registers with its nsmgr and programs the
// kernel for every connection that passes it.
import { MonitorConnectionDefinition, NetworkServiceDefinition } from '../api/index.js';
import { dirname } from 'node:path';
import { parseMeshUrl } from '../api/transport.js';
import { KernelDriver, LinkLedger } from '../dataplane/index.js';
import { DEFAULT_TOKEN_LIFETIME_MS } from '../sdk/core/token.js';
import { newForwarderChain } from '../sdk/chains/forwarder.js';
import type { Logger } from '../sdk/core/log.js';
import { networkServiceImplementation } from '../sdk/core/serve-networkservice.js';
import { newTokenSigner } from '../sdk/core/token.js';
import type { ConnectionMonitor } from '../sdk/networkservice/monitor.js';
import { registryDirectory } from '../sdk/tools/registry-directory.js';
import { FORWARDER_SERVICE } from '../sdk/registry/forwarders.js';
import { nseRefresher, registryClients } from '../sdk/registry/client.js';
import { startServer } from './grpc-server.js';
import { sharedPeerWatcher } from '../sdk/tools/peer-watch.js';

export interface ForwarderOptions {
  name: string;
  listenUrl: string;
  nsmgrUrl: string;
  underlayIp: string;
  labels?: Record<string, string>;
  tokenLifetimeMs?: number;
  /** The ledger of links it created (default: beside its unix socket, or /var/lib/networkservicemesh). */
  ledgerFile?: string;
  /** How long links of an earlier life wait to be adopted before removal (default: half the token lifetime). */
  adoptGraceMs?: number;
  log: Logger;
}

function defaultLedgerFile(listenUrl: string, name: string): string {
  const u = parseMeshUrl(listenUrl);
  return `${u.kind === 'unix' ? dirname(u.path) : '/var/lib/networkservicemesh'}/${name}.links.json`;
}

export interface RunningForwarder {
  url: string;
  monitor: ConnectionMonitor;
  stop(): Promise<void>;
}

export async function startForwarder(opts: ForwarderOptions): Promise<RunningForwarder> {
  const signer = await newTokenSigner(opts.tokenLifetimeMs);
  const driver = new KernelDriver({ logger: opts.log });
  const ledger = new LinkLedger(opts.ledgerFile ?? defaultLedgerFile(opts.listenUrl, opts.name), opts.log);
  if (ledger.orphanCount > 0) opts.log.info({ links: ledger.orphanCount }, 'found interfaces of an earlier life: adopting those still requested');
  const sweep = setTimeout(() => void ledger.sweep(driver), opts.adoptGraceMs ?? (opts.tokenLifetimeMs ?? DEFAULT_TOKEN_LIFETIME_MS) / 2);
  sweep.unref();
  const chain = newForwarderChain({
    name: opts.name,
    underlayIp: opts.underlayIp,
    signer,
    directory: registryDirectory(opts.nsmgrUrl),
    dataplane: ledger.track(driver),
  });
  const running = await startServer([opts.listenUrl], (server) => {
    server.add(NetworkServiceDefinition, networkServiceImplementation(chain.networkService, opts.log));
    server.add(MonitorConnectionDefinition, chain.monitor.implementation());
  });
  const url = running.urls[0]!;
  const registration = await nseRefresher(
    registryClients(opts.nsmgrUrl).nse,
    {
      name: opts.name,
      url,
      networkServiceNames: [FORWARDER_SERVICE],
      networkServiceLabels: { [FORWARDER_SERVICE]: { labels: { p2p: 'true', ...opts.labels } } },
    },
    { log: opts.log, retryMs: 250 },
  );
  // A restarted nsmgr has forgotten this registration: register again as soon as it is back.
  const unwatchNsmgr = sharedPeerWatcher(opts.log).onReconnect(opts.nsmgrUrl, () => {
    opts.log.info({ nsmgr: opts.nsmgrUrl }, 'nsmgr is back: registering again');
    registration.refreshNow();
  });
  opts.log.info({ url, underlayIp: opts.underlayIp }, 'forwarder ready');
  return {
    url,
    monitor: chain.monitor,
    async stop() {
      clearTimeout(sweep);
      unwatchNsmgr();
      await registration.stop();
      await running.stop();
      driver.close();
    },
  };
}
