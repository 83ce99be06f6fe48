// `nsm registry`: runs the NetworkService and NetworkServiceEndpoint registries.
import { Option, type Command } from 'commander';
import { parseMeshUrl } from '../api/index.js';
import { BACKENDS } from '../registry/backends.js';
import { addEtcdOptions, parseEtcdOptions, type EtcdCliValues } from '../registry/etcd-options.js';
import { addK8sOptions, type K8sCliValues } from '../registry/k8s-options.js';
import { MeshError } from '../api/errors.js';
import { startRegistry } from '../components/registry.js';
import { createLogger } from '../sdk/core/log.js';
import { InvalidArgumentError, usageError } from './cli-error.js';
import { metricsListenOption, waitForSignal } from './cli-options.js';
import { policyOption } from './policy-option.js';
import type { PolicyEngine } from '../sdk/tools/policy.js';
import { serveMetrics } from '../observability/serve.js';

/** Upstream's default registry URL (tcp://localhost:5001), on the loopback address. */
const DEFAULT_REGISTRY_LISTEN = 'tcp://127.0.0.1:5001';

function meshUrl(value: string): string {
  try {
    parseMeshUrl(value);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
  return value;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A positive duration, Go style (`90s`, `1m`, `500ms`) or plain seconds; returns milliseconds. */
function durationMs(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  const ms = m ? Number(m[1]) * UNIT_MS[m[2] ?? 's']! : NaN;
  if (!(ms > 0)) throw new InvalidArgumentError('want a positive duration such as 60s, 1m or 500ms');
  return ms;
}

interface RegistryFlags extends EtcdCliValues, K8sCliValues {
  listen: string;
  backend: string;
  expirePeriod: number | string;
  metricsListen?: string;
  policy?: PolicyEngine;
}

export function registerRegistryCommand(program: Command): void {
  addK8sOptions(addEtcdOptions(
    program
      .command('registry')
      .description('serve the NetworkService and NetworkServiceEndpoint registries')
      .addOption(new Option('--listen <url>', 'unix:///path or tcp://host:port').env('NSM_LISTEN_ON').default(DEFAULT_REGISTRY_LISTEN).argParser(meshUrl))
      .addOption(new Option('--backend <name>', 'storage backend').choices([...BACKENDS]).default('memory')),
  ))
    .addOption(
      new Option('--expire-period <duration>', 'longest lifetime granted to an endpoint registration')
        .env('NSM_REGISTRY_EXPIRE_PERIOD')
        .default(60_000, '1m')
        .argParser(durationMs),
    )
    .addOption(metricsListenOption())
    .addOption(policyOption())
    .action(async (flags: RegistryFlags) => {
      const log = createLogger('registry');
      let backendOptions = {};
      try {
        if (flags.backend === 'etcd') backendOptions = { etcd: parseEtcdOptions(flags) };
        // Loaded on demand: the Kubernetes client costs most of a process's start.
        if (flags.backend === 'k8s') backendOptions = { k8s: (await import('../registry/k8s-config.js')).parseK8sOptions(flags) };
      } catch (err) {
        if (err instanceof MeshError) usageError(err.message);
        throw err;
      }
      const served = await serveMetrics(flags.metricsListen, { component: 'registry', kind: 'registry' }, log);
      const registry = await startRegistry({
        listen: flags.listen,
        backend: flags.backend,
        backendOptions,
        maxLifetimeMs: Number(flags.expirePeriod),
        ...(flags.policy ? { policy: flags.policy } : {}),
        ...(served ? { metrics: served.metrics } : {}),
        log,
      });
      process.stdout.write(`registry listening on ${registry.url}\n`);
      log.info({ signal: await waitForSignal(log) }, 'shutting down');
      await registry.stop();
      await served?.server.stop();
      // grpc-js keeps timers alive for a while after shutdown: exit once the logs are out.
      log.flush(() => process.exit(0));
    });
}
