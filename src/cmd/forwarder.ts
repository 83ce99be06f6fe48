// `nsm forwarder`: runs a node's kernel data plane.
import { Option, type Command } from 'commander';
import { isIP } from 'node:net';
import { startForwarder } from '../components/forwarder.js';
import { kernelDataplane, readLinkCounters } from '../dataplane/index.js';
import { serveMetrics } from '../observability/serve.js';
import { otlpTracer } from '../observability/tracing.js';
import { createLogger } from '../sdk/core/log.js';
import { InvalidArgumentError } from './cli-error.js';
import { durationArg, labelsArg, meshUrlArg, metricsListenOption, otlpEndpointOption, nsmgrOption, tokenLifetimeOption, waitForSignal } from './cli-options.js';

function ipArg(value: string): string {
  if (!isIP(value)) throw new InvalidArgumentError(`"${value}" is not an IP address`);
  return value;
}

export function registerForwarderCommand(program: Command): void {
  program
    .command('forwarder')
    .description("run a node's forwarder (programs veth pairs and VXLAN tunnels)")
    .addOption(new Option('--name <name>', 'name in paths and logs').env('NSM_NAME').default('forwarder'))
    .addOption(new Option('--listen <url>', 'socket the nsmgr reaches it on').env('NSM_LISTEN_ON').default('unix:///var/lib/networkservicemesh/forwarder.sock').argParser(meshUrlArg))
    .addOption(nsmgrOption())
    .addOption(new Option('--underlay-ip <ip>', "this node's address for VXLAN tunnels").env('NSM_TUNNEL_IP').makeOptionMandatory().argParser(ipArg))
    .addOption(new Option('--labels <k=v,...>', 'forwarder labels').env('NSM_LABELS').argParser(labelsArg))
    .addOption(tokenLifetimeOption())
    .addOption(metricsListenOption())
    .addOption(otlpEndpointOption())
    .addOption(new Option('--sweep-after <duration>', 'remove links of an earlier life not asked for again within this time (default: half the token lifetime, at most 1m)').env('NSM_SWEEP_AFTER').argParser(durationArg))
    .action(async (flags: { name: string; listen: string; nsmgr: string; underlayIp: string; labels?: Record<string, string>; maxTokenLifetime: number; sweepAfter?: number; metricsListen?: string; otlpEndpoint?: string }) => {
      const log = createLogger(flags.name);
      const served = await serveMetrics(flags.metricsListen, { component: flags.name, kind: 'forwarder' }, log);
      const tracer = flags.otlpEndpoint ? otlpTracer(flags.otlpEndpoint, flags.name) : undefined;
      const fwd = await startForwarder({
        name: flags.name,
        listenUrl: flags.listen,
        nsmgrUrl: flags.nsmgr,
        underlayIp: flags.underlayIp,
        dataplane: kernelDataplane({ name: flags.name, listenUrl: flags.listen, log }),
        tokenLifetimeMs: flags.maxTokenLifetime,
        ...(flags.sweepAfter !== undefined ? { adoptGraceMs: flags.sweepAfter } : {}),
        ...(flags.labels ? { labels: flags.labels } : {}),
        linkCounters: readLinkCounters,
        ...(served ? { metrics: served.metrics } : {}),
        ...(tracer ? { tracer } : {}),
        log,
      });
      process.stdout.write(`forwarder ${flags.name} listening on ${fwd.url}\n`);
      await waitForSignal();
      await fwd.stop();
      await served?.server.stop();
      await tracer?.shutdown();
      process.exit(0);
    });
}
