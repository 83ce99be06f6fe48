// `nsm nsmgr`: runs a node's network service manager.
import { Option, type Command } from 'commander';
import { startNsmgr } from '../components/nsmgr.js';
import { policyOption } from './policy-option.js';
import type { PolicyEngine } from '../sdk/tools/policy.js';
import { createLogger } from '../sdk/core/log.js';
import { parseDomains } from '../sdk/tools/domains.js';
import { InvalidArgumentError } from './cli-error.js';
import { serveMetrics } from '../observability/serve.js';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { startForwarder, type RunningForwarder } from '../components/forwarder.js';
import { backgroundRemovalOption } from './forwarder.js';
import { kernelDataplane, readLinkCounters } from '../dataplane/index.js';
import { parseMeshUrl } from '../api/transport.js';
import { DEFAULT_NSMGR_SOCKET, metricsListenOption, meshUrlArg, otlpEndpointOption, tokenLifetimeOption, waitForSignal } from './cli-options.js';

interface NsmgrFlags {
  name: string;
  listen: string;
  tcpListen?: string;
  registry: string;
  maxTokenLifetime: number;
  metricsListen?: string;
  otlpEndpoint?: string;
  withForwarder?: boolean;
  underlayIp?: string;
  forwarderName?: string;
  forwarderListen?: string;
  backgroundRemoval?: boolean;
  policy?: PolicyEngine;
  domain?: string;
  domains?: Map<string, string>;
  proxy?: string;
}

function ipArg(value: string): string {
  if (!isIP(value)) throw new InvalidArgumentError(`"${value}" is not an IP address`);
  return value;
}

/** The forwarder's socket: as given, else forwarder.sock beside the nsmgr's unix socket. */
function forwarderListen(flags: NsmgrFlags): string {
  if (flags.forwarderListen) return flags.forwarderListen;
  const u = parseMeshUrl(flags.listen);
  if (u.kind !== 'unix') throw new InvalidArgumentError('--with-forwarder with a tcp --listen needs --forwarder-listen');
  return `unix://${join(dirname(u.path), 'forwarder.sock')}`;
}

/** The kernel forwarder of `nsm forwarder`, in this process, registered as an in-process hop. */
async function startEmbeddedForwarder(flags: NsmgrFlags, otlpEndpoint: string | undefined): Promise<RunningForwarder> {
  const name = flags.forwarderName ?? `${flags.name}-forwarder`;
  const listenUrl = forwarderListen(flags);
  const log = createLogger(name);
  const tracer = otlpEndpoint ? (await import('../observability/tracing.js')).otlpTracer(otlpEndpoint, name) : undefined;
  return startForwarder({
    name,
    listenUrl,
    nsmgrUrl: flags.listen,
    underlayIp: flags.underlayIp!,
    dataplane: kernelDataplane({ name, listenUrl, log }),
    tokenLifetimeMs: flags.maxTokenLifetime,
    linkCounters: readLinkCounters,
    ...(tracer ? { tracer } : {}),
    inProcess: true,
    ...(flags.backgroundRemoval ? { backgroundRemoval: true } : {}),
    log,
  });
}

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
    .addOption(new Option('--proxy <url>', "its domain's nsmgr-proxy (tcp://HOST:PORT): Requests for other domains' endpoints go through it").env('NSM_PROXY_URL').argParser(meshUrlArg))
    .addOption(tokenLifetimeOption())
    .addOption(metricsListenOption())
    .addOption(otlpEndpointOption())
    .addOption(policyOption())
    .addOption(new Option('--with-forwarder', "also run the node's kernel forwarder in this process: the nsmgr calls it directly instead of over its socket (it still serves its socket and registers as usual)").env('NSM_WITH_FORWARDER'))
    .addOption(new Option('--underlay-ip <ip>', "with --with-forwarder: this node's address for VXLAN tunnels").env('NSM_TUNNEL_IP').argParser(ipArg))
    .addOption(new Option('--forwarder-name <name>', 'with --with-forwarder: the forwarder\'s name (default: NAME-forwarder)').env('NSM_FORWARDER_NAME'))
    .addOption(new Option('--forwarder-listen <url>', "with --with-forwarder: the forwarder's socket (default: forwarder.sock beside a unix --listen)").env('NSM_FORWARDER_LISTEN_ON').argParser(meshUrlArg))
    .addOption(backgroundRemovalOption())
    .action(async (flags: NsmgrFlags) => {
      if (flags.withForwarder && !flags.underlayIp) throw new InvalidArgumentError('--with-forwarder needs --underlay-ip');
      if (flags.withForwarder) forwarderListen(flags); // a bad combination is refused before anything starts
      const log = createLogger(flags.name);
      const served = await serveMetrics(flags.metricsListen, { component: flags.name, kind: 'nsmgr' }, log);
      const tracer = flags.otlpEndpoint ? (await import('../observability/tracing.js')).otlpTracer(flags.otlpEndpoint, flags.name) : undefined;
      const nsmgr = await startNsmgr({
        name: flags.name,
        listenUrl: flags.listen,
        ...(flags.tcpListen ? { tcpListenUrl: flags.tcpListen } : {}),
        registryUrl: flags.registry,
        tokenLifetimeMs: flags.maxTokenLifetime,
        ...(flags.domain ? { domain: flags.domain } : {}),
        ...(flags.domains ? { domains: flags.domains } : {}),
        ...(flags.proxy ? { proxyUrl: flags.proxy } : {}),
        ...(served ? { metrics: served.metrics } : {}),
        ...(tracer ? { tracer } : {}),
        ...(flags.policy ? { policy: flags.policy } : {}),
        ...(flags.withForwarder ? { inProcess: true } : {}),
        log,
      });
      process.stdout.write(`nsmgr ${flags.name} listening on ${nsmgr.urls.join(' ')}\n`);
      const fwd = flags.withForwarder ? await startEmbeddedForwarder(flags, tracer ? flags.otlpEndpoint : undefined) : undefined;
      if (fwd) process.stdout.write(`forwarder ${flags.forwarderName ?? `${flags.name}-forwarder`} listening on ${fwd.url} (in process)\n`);
      await waitForSignal(log);
      await fwd?.stop();
      await nsmgr.stop();
      await served?.server.stop();
      await tracer?.shutdown();
      process.exit(0);
    });
}
