// `nsm nsmgr-proxy`: a domain's edge for interdomain connections (README: Interdomain).
import { Option, type Command } from 'commander';
import { InvalidArgumentError } from './cli-error.js';
import { startNsmgrProxy } from '../components/nsmgr-proxy.js';
import { createLogger } from '../sdk/core/log.js';
import { parseDomains } from '../sdk/tools/domains.js';
import { meshUrlArg, metricsListenOption, tokenLifetimeOption, waitForSignal } from './cli-options.js';
import { serveMetrics } from '../observability/serve.js';

interface ProxyFlags {
  name: string;
  listen: string;
  registry: string;
  domain: string;
  proxies: Map<string, string>;
  maxTokenLifetime: number;
  metricsListen?: string;
}

export function registerNsmgrProxyCommand(program: Command): void {
  program
    .command('nsmgr-proxy')
    .description("a domain's edge for interdomain connections: passes Requests for other domains' endpoints to their proxies and Requests for its own domain's endpoints to their nsmgrs")
    .addOption(new Option('--name <name>', 'name in paths and logs').env('NSM_NAME').default('nsmgr-proxy'))
    .addOption(new Option('--listen <url>', 'tcp://IP:PORT where nsmgrs and other proxies reach it').env('NSM_LISTEN_ON').makeOptionMandatory().argParser(meshUrlArg))
    .addOption(new Option('--registry <url>', "its domain's registry").env('NSM_REGISTRY_URL').default('tcp://127.0.0.1:5001').argParser(meshUrlArg))
    .addOption(new Option('--domain <name>', 'its domain').env('NSM_DOMAIN').makeOptionMandatory())
    .addOption(new Option('--proxies <name=url,...>', "the nsmgr-proxy of each other domain: domain-b=tcp://HOST:PORT,...").env('NSM_PROXIES').default(new Map(), 'none').argParser((v) => {
      try {
        return parseDomains(v);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message.replace(/^domains:/, 'proxies:').replace('registry URL', 'proxy URL'));
      }
    }))
    .addOption(tokenLifetimeOption())
    .addOption(metricsListenOption())
    .action(async (flags: ProxyFlags) => {
      const log = createLogger(flags.name);
      const served = await serveMetrics(flags.metricsListen, { component: flags.name, kind: 'nsmgr-proxy' }, log);
      const proxy = await startNsmgrProxy({
        name: flags.name, listenUrl: flags.listen, registryUrl: flags.registry, domain: flags.domain, proxies: flags.proxies, tokenLifetimeMs: flags.maxTokenLifetime, log,
        ...(served ? { metrics: served.metrics } : {}),
      });
      process.stdout.write(`nsmgr-proxy ${flags.name} of ${flags.domain} listening on ${proxy.urls.join(' ')}\n`);
      await waitForSignal(log);
      await proxy.stop();
      await served?.server.stop();
      process.exit(0);
    });
}
