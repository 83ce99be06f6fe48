// `nsm forwarder`: runs a node's kernel data plane.
import { Option, type Command } from 'commander';
import { isIP } from 'node:net';
import { startForwarder } from '../components/forwarder.js';
import { kernelDataplane, readLinkCounters } from '../dataplane/index.js';
import { mechanismRegistry, remoteMechanismNames } from '../dataplane/mechanisms/index.js';
import { serveMetrics } from '../observability/serve.js';
import { createLogger } from '../sdk/core/log.js';
import { InvalidArgumentError } from './cli-error.js';
import { durationArg, labelsArg, meshUrlArg, metricsListenOption, otlpEndpointOption, nsmgrOption, tokenLifetimeOption, waitForSignal } from './cli-options.js';

function ipArg(value: string): string {
  if (!isIP(value)) throw new InvalidArgumentError(`"${value}" is not an IP address`);
  return value;
}

/** A comma-separated list with at least one mechanism this build supports. */
function remoteMechanismsArg(value: string): string[] {
  const names = value.split(',').map((n) => n.trim()).filter((n) => n !== '');
  try {
    mechanismRegistry(names);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return names;
}

/** "svc=2001:db8:ff::3+2001:db8:ff::4,other=..." -> { svc: [...], other: [...] }. */
function srv6ViaArg(value: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const item of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [service, ips] = item.split('=');
    if (!service || !ips) throw new InvalidArgumentError(`"${item}" is not SERVICE=IP6[+IP6...]`);
    const list = ips.split('+');
    const bad = list.find((ip) => isIP(ip) !== 6);
    if (bad !== undefined) throw new InvalidArgumentError(`"${bad}" (service ${service}) is not an IPv6 address`);
    out[service] = list;
  }
  return out;
}

/** --background-removal, for `nsm forwarder` and `nsm nsmgr --with-forwarder`. */
export function backgroundRemovalOption(): Option {
  return new Option('--background-removal', "Close returns before the kernel has deleted the connection's interfaces (~16 ms a veth); a new interface of the same name waits for it").env('NSM_BACKGROUND_REMOVAL');
}

export function registerForwarderCommand(program: Command): void {
  program
    .command('forwarder')
    .description("run a node's forwarder (programs veth pairs and remote tunnels)")
    .addOption(new Option('--name <name>', 'name in paths and logs').env('NSM_NAME').default('forwarder'))
    .addOption(new Option('--listen <url>', 'socket the nsmgr reaches it on').env('NSM_LISTEN_ON').default('unix:///var/lib/networkservicemesh/forwarder.sock').argParser(meshUrlArg))
    .addOption(nsmgrOption())
    .addOption(new Option('--underlay-ip <ip>', "this node's address for VXLAN tunnels").env('NSM_TUNNEL_IP').makeOptionMandatory().argParser(ipArg))
    .addOption(new Option('--labels <k=v,...>', 'forwarder labels').env('NSM_LABELS').argParser(labelsArg))
    .addOption(
      new Option('--remote-mechanisms <list>', `remote mechanisms in priority order (supported: ${remoteMechanismNames().join(', ')}); unknown names are skipped`)
        .env('NSM_REMOTE_MECHANISMS')
        .argParser(remoteMechanismsArg),
    )
    .addOption(new Option('--srv6-via <service=ip6+ip6,...>', 'SRv6 traffic engineering: the waypoint nodes (IPv6 underlay addresses, in order) of each service').env('NSM_SRV6_VIA').argParser(srv6ViaArg))
    .addOption(new Option('--encrypted-services <service,...>', 'network services whose connections between nodes must be encrypted (only WIREGUARD and IPSEC qualify)').env('NSM_ENCRYPTED_SERVICES').argParser((v: string) => v.split(',').map((s) => s.trim()).filter(Boolean)))
    .addOption(tokenLifetimeOption())
    .addOption(metricsListenOption())
    .addOption(otlpEndpointOption())
    .addOption(backgroundRemovalOption())
    .addOption(new Option('--sweep-after <duration>', 'remove links of an earlier life not asked for again within this time (default: half the token lifetime, at most 1m)').env('NSM_SWEEP_AFTER').argParser(durationArg))
    .action(async (flags: { name: string; listen: string; nsmgr: string; underlayIp: string; labels?: Record<string, string>; remoteMechanisms?: string[]; srv6Via?: Record<string, string[]>; encryptedServices?: string[]; maxTokenLifetime: number; sweepAfter?: number; metricsListen?: string; otlpEndpoint?: string; backgroundRemoval?: boolean }) => {
      const log = createLogger(flags.name);
      const served = await serveMetrics(flags.metricsListen, { component: flags.name, kind: 'forwarder' }, log);
      const tracer = flags.otlpEndpoint ? (await import('../observability/tracing.js')).otlpTracer(flags.otlpEndpoint, flags.name) : undefined;
      const fwd = await startForwarder({
        name: flags.name,
        listenUrl: flags.listen,
        nsmgrUrl: flags.nsmgr,
        underlayIp: flags.underlayIp,
        dataplane: kernelDataplane({ name: flags.name, listenUrl: flags.listen, log }),
        tokenLifetimeMs: flags.maxTokenLifetime,
        ...(flags.sweepAfter !== undefined ? { adoptGraceMs: flags.sweepAfter } : {}),
        ...(flags.labels ? { labels: flags.labels } : {}),
        ...(flags.remoteMechanisms ? { remoteMechanisms: flags.remoteMechanisms } : {}),
        ...(flags.srv6Via ? { srv6Via: flags.srv6Via } : {}),
        ...(flags.encryptedServices ? { encryptedServices: flags.encryptedServices } : {}),
        linkCounters: readLinkCounters,
        ...(flags.backgroundRemoval ? { backgroundRemoval: true } : {}),
        ...(served ? { metrics: served.metrics } : {}),
        ...(tracer ? { tracer } : {}),
        log,
      });
      process.stdout.write(`forwarder ${flags.name} listening on ${fwd.url}\n`);
      await waitForSignal(log);
      await fwd.stop();
      await served?.server.stop();
      await tracer?.shutdown();
      process.exit(0);
    });
}
