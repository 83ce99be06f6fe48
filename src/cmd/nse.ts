// `nsm nse <kind>`: runs an endpoint of the given kind (icmp-responder, passthrough, vl3).
import { Option, type Command } from 'commander';
import { policyOption } from './policy-option.js';
import type { PolicyEngine } from '../sdk/tools/policy.js';
import { startEndpoint } from '../components/endpoint.js';
import { startPassthrough } from '../components/passthrough.js';
import { startVl3Endpoint } from '../components/vl3-endpoint.js';
import { parseUpstream, type DnsUpstream } from '../dataplane/dns/dns-upstreams.js';
import { startMacswapEndpoint } from '../components/macswap-endpoint.js';
import { netnsUrlArg } from './netns-arg.js';
import { usageError } from './cli-error.js';
import { messageOf } from '../api/errors.js';
import { createLogger, type Logger } from '../sdk/core/log.js';
import { serveMetrics } from '../observability/serve.js';
import type { MeshMetrics } from '../observability/mesh-metrics.js';
import type { OtelHopTracer } from '../observability/tracing.js';
import { cidrsArg, durationArg, labelsArg, listArg, meshUrlArg, metricsListenOption, otlpEndpointOption, nsmgrOption, tokenLifetimeOption, waitForSignal } from './cli-options.js';

interface NseFlags {
  name: string;
  service: string[];
  cidr: string[];
  labels?: Record<string, string>;
  nsmgr: string;
  netns?: string;
  listen?: string;
  maxTokenLifetime: number;
  orphanGrace: number;
  metricsListen?: string;
  otlpEndpoint?: string;
  policy?: PolicyEngine;
}

/** Where every endpoint kind lives and registers: labels, its nsmgr, its socket and its namespace (defaults: its own). */
function endpointPlace(flags: NseFlags) {
  return {
    labels: flags.labels ?? {},
    nsmgrUrl: flags.nsmgr,
    listenUrl: flags.listen ?? `unix:///var/lib/networkservicemesh/nse-${flags.name}.sock`,
    netnsUrl: flags.netns ?? `file:///proc/${process.pid}/ns/net`,
  };
}

/** How long a connection waits for its forwarder (its monitor stream) before it is released. */
function orphanGraceOption(): Option {
  return new Option('--orphan-grace <duration>', 'release a connection whose forwarder has watched nothing here for this long').env('NSM_ORPHAN_GRACE').default(15_000, '15s').argParser(durationArg);
}

/** What an endpoint kind's start gets beside its flags: the process's logger, metrics and tracer (when asked for). */
interface EndpointExtras {
  log: Logger;
  metrics?: MeshMetrics;
  tracer?: OtelHopTracer;
}

/**
 * The life of an `nsm nse` process: metrics (and tracing) served when asked for, the endpoint started, its
 * "nse NAME serving SERVICES on URL (what)" line printed, everything stopped on SIGINT/SIGTERM.
 */
async function runEndpoint<E extends { url: string; stop(): Promise<void> }>(
  flags: NseFlags,
  log: Logger,
  start: (extras: EndpointExtras) => Promise<E>,
  what: (endpoint: E) => string = () => '',
): Promise<void> {
  const served = await serveMetrics(flags.metricsListen, { component: flags.name, kind: 'endpoint' }, log);
  const tracer = flags.otlpEndpoint ? (await import('../observability/tracing.js')).otlpTracer(flags.otlpEndpoint, flags.name) : undefined;
  const endpoint = await start({ log, ...(served ? { metrics: served.metrics } : {}), ...(tracer ? { tracer } : {}) });
  const suffix = what(endpoint);
  process.stdout.write(`nse ${flags.name} serving ${flags.service.join(',')} on ${endpoint.url}${suffix ? ` (${suffix})` : ''}\n`);
  await waitForSignal(log);
  await endpoint.stop();
  await served?.server.stop();
  await tracer?.shutdown();
  process.exit(0);
}

export function registerNseCommand(program: Command): void {
  const nse = program.command('nse').description('run a network service endpoint');
  nse
    .command('icmp-responder')
    .description('an endpoint that hands out point-to-point addresses and answers pings')
    .addOption(new Option('--name <name>', 'endpoint name').env('NSM_NAME').default('icmp-responder'))
    .addOption(new Option('--service <names>', 'network services offered (comma separated)').env('NSM_SERVICE_NAMES').default(['icmp-responder'], 'icmp-responder').argParser(listArg))
    .addOption(new Option('--cidr <cidrs>', 'address pool (comma separated)').env('NSM_CIDR_PREFIX').default(['169.254.0.0/16'], '169.254.0.0/16').argParser(cidrsArg))
    .addOption(new Option('--labels <k=v,...>', 'endpoint labels').env('NSM_LABELS').argParser(labelsArg))
    .addOption(nsmgrOption())
    .addOption(new Option('--netns <name|path|url>', "the endpoint's network namespace (default: its own)").env('NSM_NETNS').argParser(netnsUrlArg))
    .addOption(new Option('--listen <url>', 'its own socket (default: unix:///var/lib/networkservicemesh/nse-NAME.sock)').env('NSM_LISTEN_ON').argParser(meshUrlArg))
    .addOption(tokenLifetimeOption())
    .addOption(orphanGraceOption())
    .addOption(metricsListenOption())
    .addOption(otlpEndpointOption())
    .addOption(policyOption())
    .action(async (flags: NseFlags) => {
      await runEndpoint(flags, createLogger(flags.name), (extras) =>
        startEndpoint({
          name: flags.name,
          services: flags.service,
          cidrs: flags.cidr,
          ...endpointPlace(flags),
          tokenLifetimeMs: flags.maxTokenLifetime,
          orphanGraceMs: flags.orphanGrace,
          ...(flags.policy ? { policy: flags.policy } : {}),
          ...extras,
        }),
      );
    });

  nse
    .command('passthrough')
    .description('a link of a service function chain: requests the same service onward (its labels as source labels) and forwards between its two interfaces')
    .addOption(new Option('--name <name>', 'endpoint name').env('NSM_NAME').default('passthrough'))
    .addOption(new Option('--service <names>', 'network services offered and requested onward (comma separated)').env('NSM_SERVICE_NAMES').makeOptionMandatory().argParser(listArg))
    .addOption(new Option('--cidr <cidrs>', 'ignored: a passthrough hands out the addresses of its onward connection').env('NSM_CIDR_PREFIX').argParser(cidrsArg))
    .addOption(new Option('--labels <k=v,...>', 'endpoint labels, also the source labels of its onward requests (default app=NAME)').env('NSM_LABELS').argParser(labelsArg))
    .addOption(nsmgrOption())
    .addOption(new Option('--netns <name|path|url>', 'its network namespace, where both interfaces go and packets are forwarded (default: its own)').env('NSM_NETNS').argParser(netnsUrlArg))
    .addOption(new Option('--listen <url>', 'its own socket (default: unix:///var/lib/networkservicemesh/nse-NAME.sock)').env('NSM_LISTEN_ON').argParser(meshUrlArg))
    .addOption(tokenLifetimeOption())
    .addOption(new Option('--request-timeout <duration>', 'give up an onward request after').env('NSM_REQUEST_TIMEOUT').default(15_000, '15s').argParser(durationArg))
    .addOption(orphanGraceOption())
    .addOption(metricsListenOption())
    .addOption(otlpEndpointOption())
    .action(async (flags: NseFlags & { requestTimeout: number }) => {
      await runEndpoint(
        flags,
        createLogger(flags.name),
        (extras) =>
          startPassthrough({
            name: flags.name,
            services: flags.service,
            ...endpointPlace(flags),
            tokenLifetimeMs: flags.maxTokenLifetime,
            requestTimeoutMs: flags.requestTimeout,
            orphanGraceMs: flags.orphanGrace,
            onConnection: (line) => process.stdout.write(`${JSON.stringify(line)}\n`),
            ...extras,
          }),
        () => 'passthrough',
      );
    });

  nse
    .command('macswap')
    .description('a DPDK endpoint (MEMIF): per connection, dpdk-testpmd serves a memif socket and sends every packet back with MACs swapped')
    .addOption(new Option('--name <name>', 'endpoint name').env('NSM_NAME').default('macswap'))
    .addOption(new Option('--service <names>', 'network services offered (comma separated)').env('NSM_SERVICE_NAMES').makeOptionMandatory().argParser(listArg))
    .addOption(new Option('--labels <k=v,...>', 'endpoint labels').env('NSM_LABELS').argParser(labelsArg))
    .addOption(nsmgrOption())
    .addOption(new Option('--runtime-dir <dir>', 'where its per-connection memif sockets go (default /run/nsm/NAME)').env('NSM_RUNTIME_DIR'))
    .addOption(new Option('--netns <name|path|url>', 'the namespace it runs in (memif sockets are files: nothing is put in it)').env('NSM_NETNS').argParser(netnsUrlArg))
    .addOption(new Option('--listen <url>', 'its own socket (default: unix:///var/lib/networkservicemesh/nse-NAME.sock)').env('NSM_LISTEN_ON').argParser(meshUrlArg))
    .addOption(tokenLifetimeOption())
    .addOption(orphanGraceOption())
    .addOption(metricsListenOption())
    .action(async (flags: NseFlags & { runtimeDir?: string }) => {
      await runEndpoint(
        flags,
        createLogger(flags.name),
        (extras) =>
          startMacswapEndpoint({
            name: flags.name,
            services: flags.service,
            ...endpointPlace(flags),
            runtimeDir: flags.runtimeDir ?? `/run/nsm/${flags.name}`,
            tokenLifetimeMs: flags.maxTokenLifetime,
            orphanGraceMs: flags.orphanGrace,
            onStats: (id, stats) => process.stdout.write(`${JSON.stringify({ id, memif: { rx: stats.rxPackets, tx: stats.txPackets } })}\n`),
            ...extras,
          }),
        () => 'macswap over memif',
      );
    });

  nse
    .command('vl3')
    .description('a vL3 instance: hands out addresses of its slice of the vL3 prefix, routes to the other instances (full mesh) and answers DNS for <client>.<service>')
    .addOption(new Option('--name <name>', 'instance name').env('NSM_NAME').default('vl3'))
    .addOption(new Option('--service <names>', 'the vL3 network service (comma separated; the first names the DNS zone)').env('NSM_SERVICE_NAMES').makeOptionMandatory().argParser(listArg))
    .addOption(new Option('--cidr <cidr>', 'the whole vL3 prefix, shared by all its instances').env('NSM_CIDR_PREFIX').makeOptionMandatory().argParser(cidrsArg))
    .addOption(new Option('--slice-bits <n>', 'prefix length of each instance\'s slice (default /24, IPv6 /112)').env('NSM_VL3_SLICE_BITS').argParser((v) => Number.parseInt(v, 10)))
    .addOption(new Option('--dns-port <n>', 'UDP port of its DNS responder').env('NSM_VL3_DNS_PORT').default(53).argParser((v) => Number.parseInt(v, 10)))
    .addOption(new Option('--dns-upstream <addrs>', 'resolvers for names outside the vL3 zone: IP, IP:PORT or [IPv6]:PORT, comma separated (default: nameservers of /etc/resolv.conf; "none" answers REFUSED)').env('NSM_VL3_DNS_UPSTREAM').argParser(listArg))
    .addOption(new Option('--labels <k=v,...>', 'endpoint labels').env('NSM_LABELS').argParser(labelsArg))
    .addOption(nsmgrOption())
    .addOption(new Option('--netns <name|path|url>', "the instance's network namespace (default: its own)").env('NSM_NETNS').argParser(netnsUrlArg))
    .addOption(new Option('--listen <url>', 'its own socket (default: unix:///var/lib/networkservicemesh/nse-NAME.sock)').env('NSM_LISTEN_ON').argParser(meshUrlArg))
    .addOption(tokenLifetimeOption())
    .addOption(metricsListenOption())
    .action(async (flags: NseFlags & { sliceBits?: number; dnsPort: number; dnsUpstream?: string[] }) => {
      const log = createLogger(flags.name);
      if (flags.cidr.length !== 1) usageError('nse vl3: --cidr takes exactly one prefix (the whole vL3 network)');
      if (flags.sliceBits !== undefined && !Number.isInteger(flags.sliceBits)) usageError('nse vl3: --slice-bits must be a number');
      let dnsUpstreams: DnsUpstream[] | undefined;
      try {
        dnsUpstreams = flags.dnsUpstream?.filter((u) => u !== 'none').map((u) => parseUpstream(u, '--dns-upstream'));
      } catch (err) {
        usageError(`nse vl3: ${messageOf(err)}`);
      }
      await runEndpoint(
        flags,
        log,
        ({ log }) =>
          startVl3Endpoint({
            ...(dnsUpstreams ? { dnsUpstreams } : {}),
            name: flags.name,
            services: flags.service,
            cidr: flags.cidr[0]!,
            ...(flags.sliceBits !== undefined ? { sliceBits: flags.sliceBits } : {}),
            dnsPort: flags.dnsPort,
            ...endpointPlace(flags),
            tokenLifetimeMs: flags.maxTokenLifetime,
            onState: (state) => process.stdout.write(`${JSON.stringify({ vl3: state })}\n`),
            log,
          }),
        (endpoint) => `vl3 slice ${endpoint.slice.cidr}`,
      );
    });
}
