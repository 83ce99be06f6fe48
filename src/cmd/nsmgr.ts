// `nsm nsmgr`: runs a node's network service manager.
import { Option, type Command } from 'commander';
import { startNsmgr } from '../components/nsmgr.js';
import { policyOption } from './policy-option.js';
import type { PolicyEngine } from '../sdk/tools/policy.js';
import { createLogger } from '../sdk/core/log.js';
import { parseDomains } from '../sdk/tools/domains.js';
import { InvalidArgumentError } from './cli-error.js';
import { serveMetrics } from '../observability/serve.js';
import { otlpTracer } from '../observability/tracing.js';
import { DEFAULT_NSMGR_SOCKET, metricsListenOption, meshUrlArg, otlpEndpointOption, tokenLifetimeOption, waitForSignal } from './cli-options.js';

export function registerNsmgrCommand(program: Command): void {
  program
    .command('nsmgr')
    .description("run a node's network service manager")
    .addOption(new Option('--name <name>', 'name in paths and logs').env('NSM_NAME').default('nsmgr'))
    .addOption(new Option('--listen <url>', 'local socket for clients, endpoints, forwarders').env('NSM_LISTEN_ON').default(DEFAULT_NSMGR_SOCKET).argParser(meshUrlArg))
    .addOption(new Option('--tcp-listen <url>', 'tcp://IP:PORT where other nsmgrs reach this one').env('NSM_TCP_LISTEN_ON').argParser(meshUrlArg))
    .addOption(new Option('--registry <url>', 'registry URL').env('NSM_REGISTRY_URL').default('tcp://127.0.0.1:5001').argParser(meshUrlArg))
    .addOption(new Option('--domain <name>', 'this nsmgr\'s domain (interdomain: requests for NAME@DOMAIN of this domain are served here)').env('NSM_DOMAIN'))
    .addOption(new Option('--domains <name=url,...>', 'registries of other domains (and floating registries): domain-b=tcp://HOST:PORT,...').env('NSM_DOMAINS').argParser((v) => {
      try {
        return parseDomains(v);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
    }))
    .addOption(tokenLifetimeOption())
    .addOption(metricsListenOption())
    .addOption(otlpEndpointOption())
    .addOption(policyOption())
    .action(async (flags: { name: string; listen: string; tcpListen?: string; registry: string; maxTokenLifetime: number; metricsListen?: string; otlpEndpoint?: string; policy?: PolicyEngine; domain?: string; domains?: Map<string, string> }) => {
      const log = createLogger(flags.name);
      const served = await serveMetrics(flags.metricsListen, { component: flags.name, kind: 'nsmgr' }, log);
      const tracer = flags.otlpEndpoint ? otlpTracer(flags.otlpEndpoint, flags.name) : undefined;
      const nsmgr = await startNsmgr({
        name: flags.name,
        listenUrl: flags.listen,
        ...(flags.tcpListen ? { tcpListenUrl: flags.tcpListen } : {}),
        registryUrl: flags.registry,
        tokenLifetimeMs: flags.maxTokenLifetime,
        ...(flags.domain ? { domain: flags.domain } : {}),
        ...(flags.domains ? { domains: flags.domains } : {}),
        ...(served ? { metrics: served.metrics } : {}),
        ...(tracer ? { tracer } : {}),
        ...(flags.policy ? { policy: flags.policy } : {}),
        log,
      });
      process.stdout.write(`nsmgr ${flags.name} listening on ${nsmgr.urls.join(' ')}\n`);
      await waitForSignal();
      await nsmgr.stop();
      await served?.server.stop();
      await tracer?.shutdown();
      process.exit(0);
    });
}
