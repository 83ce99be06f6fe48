// `nsm nsc`: requests connections to network services for a namespace, prints
// them, keeps them refreshed, and closes them on SIGTERM/SIGINT.
import { Option, type Command } from 'commander';
import { MeshClient } from '../components/client.js';
import { connectionLine, stateLine } from '../components/connection-line.js';
import { parseServiceUrl, type ServiceRequestSpec } from '../components/service-url.js';
import { Connection } from '../api/index.js';
import { createLogger } from '../sdk/core/log.js';
import { messageOf } from '../api/errors.js';
import { InvalidArgumentError, usageError } from './cli-error.js';
import { serveMetrics } from '../observability/serve.js';
import { durationArg, listArg, metricsListenOption, nsmgrOption, otlpEndpointOption, tokenLifetimeOption, waitForSignal } from './cli-options.js';
import { containerNetnsUrl, netnsUrlArg } from './netns-arg.js';
import { applyResolvConf, removeResolvConf } from '../dataplane/resolv-conf.js';
import { startMemifApp, stopMemifApp, stopMemifAppAfter, type MemifApp } from '../dataplane/dpdk/memif-app.js';
import { startVirtioApp, virtioPlace, type VirtioPlace } from '../dataplane/dpdk/virtio-app.js';
import { rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { memifLiveness } from '../dataplane/dpdk/memif-liveness.js';
import { echoLiveness } from '../dataplane/echo-liveness.js';
import type { LivenessCheck } from '../sdk/tools/liveness.js';
import { isVhostUser } from '../sdk/tools/mechanisms.js';

interface NscFlags {
  name: string;
  netns?: string;
  container?: string;
  nsmgr: string;
  requestTimeout: number;
  maxTokenLifetime: number;
  exclude?: string[];
  once?: boolean;
  livenessInterval: number;
  metricsListen?: string;
  otlpEndpoint?: string;
  runtimeDir?: string;
  memifSeconds: number;
}

export function registerNscCommand(program: Command): void {
  program
    .command('nsc')
    .description('request connections to network services, e.g. kernel://icmp-responder/nsm-1?app=web')
    .argument('[urls...]', 'service URLs kernel://service/ifname?k=v (or NSM_NETWORK_SERVICES)')
    .addOption(new Option('--name <name>', 'client name').env('NSM_NAME').default(`nsc-${process.pid}`))
    .addOption(new Option('--netns <name|path|url>', "the client's network namespace (default: its own)").env('NSM_NETNS').argParser(netnsUrlArg))
    .addOption(new Option('--container <name>', "a running podman container whose namespace gets the connections").conflicts('netns'))
    .addOption(nsmgrOption())
    .addOption(new Option('--request-timeout <duration>', 'give up a request after').env('NSM_REQUEST_TIMEOUT').default(15_000, '15s').argParser(durationArg))
    .addOption(tokenLifetimeOption())
    .addOption(new Option('--exclude <cidrs>', 'excluded prefixes the endpoint must not hand out').env('NSM_EXCLUDED_PREFIXES').argParser(listArg))
    .addOption(new Option('--liveness-interval <duration>', 'check each connection\'s data path (an in-process ICMP echo to its dst; memif: packets sent but none back, from the application\'s counters) this often; 2 failures heal it with a new selection (0 disables)').env('NSM_LIVENESS_INTERVAL').default(1000, '1s').argParser(durationArg))
    .addOption(metricsListenOption())
    .addOption(otlpEndpointOption())
    .addOption(new Option('--once', 'close the connections and exit once they are up'))
    .addOption(new Option('--runtime-dir <dir>', 'memif:// and vhostuser:// requests: where the per-connection sockets go (default /run/nsm/NAME)').env('NSM_RUNTIME_DIR'))
    .addOption(new Option('--memif-seconds <duration>', 'memif:// and vhostuser:// requests: the sending application (dpdk-testpmd flowgen) stops after this long and prints its counts (0: runs until Close)').env('NSM_MEMIF_SECONDS').default(0, '0').argParser(durationArg))
    .action(async (urls: string[], flags: NscFlags) => {
      const texts = urls.length > 0 ? urls : listArg(process.env.NSM_NETWORK_SERVICES ?? '');
      if (texts.length === 0) usageError('nsc: no service URL given (argument or NSM_NETWORK_SERVICES)');
      let specs: ServiceRequestSpec[];
      try {
        specs = texts.map((t, i) => parseServiceUrl(t, `nsm-${i + 1}`));
      } catch (err) {
        throw new InvalidArgumentError(messageOf(err));
      }
      const log = createLogger(flags.name);
      // Resolved before connecting: a missing container is a usage error, not a failed request.
      const netnsUrl = flags.container ? await containerNetnsUrl(flags.container) : (flags.netns ?? `file:///proc/${process.pid}/ns/net`);
      const served = await serveMetrics(flags.metricsListen, { component: flags.name, kind: 'client' }, log);
      const tracer = flags.otlpEndpoint ? (await import('../observability/tracing.js')).otlpTracer(flags.otlpEndpoint, flags.name) : undefined;
      const conns: Connection[] = [];
      // Connections that carry a DNS context (vL3) configure the namespace's resolver (README: vL3).
      const dnsConfigs = () => conns.flatMap((c) => c.context?.dnsContext?.configs ?? []);
      const applyDns = () => {
        if (dnsConfigs().length === 0) return;
        try {
          applyResolvConf(netnsUrl, dnsConfigs(), flags.name);
        } catch (err) {
          log.warn({ err: messageOf(err) }, 'cannot write the namespace resolv.conf');
        }
      };
      // Healing: one line {"id","interface","state":"HEALING"}, then the full line again (with "state":"UP").
      const onState = (id: string, state: 'UP' | 'HEALING', conn?: Connection) => {
        const i = conns.findIndex((c) => c.id === id);
        if (i < 0) return;
        if (conn) conns[i] = conn;
        const line = state === 'HEALING' ? stateLine(id, specs[i]!.ifname, state) : connectionLine(conns[i]!, specs[i]!.ifname, state);
        if (conn) applyDns();
        process.stdout.write(`${JSON.stringify(line)}\n`);
      };
      // A memif or vhost-user connection has no kernel interface to ping through: a memif connection's check reads
      // the sending application's counters instead (packets sent, none back: the cross-connect or the endpoint's
      // application is gone); a vhost-user one has no check (its virtio_user sender does not reconnect to a new socket).
      const memifApps = new Map<string, MemifApp>();
      /** Applications stopped on purpose (--memif-seconds): no longer checked. */
      const finished = new Set<string>();
      const anyMemif = specs.some((s) => s.mechanism !== 'kernel');
      const runtimeDir = flags.runtimeDir ?? `/run/nsm/${flags.name}`;
      /** vhostuser:// requests: the socket's directory is made before the Request; the virtio-user sender starts once it is up. */
      const places: VirtioPlace[] = [];
      const removePlaces = () => places.forEach((p) => rmSync(p.dir, { recursive: true, force: true }));
      const startVhost = async (place: VirtioPlace): Promise<MemifApp> => {
        const app = await startVirtioApp(place);
        memifApps.set(place.connId, app);
        return app;
      };
      const echo = echoLiveness();
      const fallback: LivenessCheck = {
        check: (c) => (isVhostUser(c.mechanism) ? Promise.resolve({ cannotCheck: 'a VHOSTUSER connection has no data-path check' }) : echo.check(c)),
        release: (id) => echo.release?.(id),
      };
      /** A memif:// request's application: dpdk-testpmd (flowgen) serving its socket before the Request. */
      const startMemif = async (ifname: string): Promise<MemifApp> => {
        const connId = randomUUID();
        const app = await startMemifApp({ runtimeDir, connId, name: ifname, mode: 'flowgen' });
        memifApps.set(connId, app);
        return app;
      };
      const client = await MeshClient.create({
        name: flags.name, nsmgrUrl: flags.nsmgr, log, tokenLifetimeMs: flags.maxTokenLifetime, livenessIntervalMs: flags.livenessInterval, onState,
        ...(anyMemif
          ? {
              liveness: memifLiveness({ appOf: (socket) => [...memifApps.values()].find((a) => a.socketfile === socket && !finished.has(a.connId))?.inst, fallback }),
              // A heal may start DPDK processes on the forwarder and the endpoint (seconds each): it gets a first Request's time.
              healAttemptTimeoutMs: flags.requestTimeout,
            }
          : {}),
        ...(served ? { metrics: served.metrics } : {}),
        ...(tracer ? { tracer } : {}),
      });
      try {
        for (const spec of specs) {
          const memif = spec.mechanism === 'memif' ? await startMemif(spec.ifname) : undefined;
          const vhost = spec.mechanism === 'vhostuser' ? virtioPlace(runtimeDir, randomUUID(), spec.ifname) : undefined;
          if (vhost) places.push(vhost);
          const conn = await client.request({
            ...(memif ? { id: memif.connId, memifSocket: memif.socketfile } : {}),
            ...(vhost ? { id: vhost.connId, vhostSocket: vhost.socketfile } : {}),
            service: spec.domain ? `${spec.service}@${spec.domain}` : spec.service,
            ifname: spec.ifname,
            netnsUrl,
            labels: spec.labels,
            ...(spec.endpoint ? { endpoint: spec.endpoint } : {}),
            ...(flags.exclude ? { excludedPrefixes: flags.exclude } : {}),
            timeoutMs: flags.requestTimeout,
          });
          conns.push(conn);
          const app = memif ?? (vhost ? await startVhost(vhost) : undefined);
          // A short-lived sender (--memif-seconds): its life starts once the connection is up; then one line of counts.
          if (app && flags.memifSeconds) {
            const key = memif ? 'memif' : 'vhostuser';
            setTimeout(() => finished.add(app.connId), flags.memifSeconds).unref();
            void stopMemifAppAfter(app, flags.memifSeconds).then((st) => process.stdout.write(`${JSON.stringify({ id: conn.id, [key]: { rx: st.rxPackets, tx: st.txPackets } })}\n`));
          }
          applyDns();
          process.stdout.write(`${JSON.stringify(connectionLine(conn, spec.ifname))}\n`);
        }
      } catch (err) {
        process.stderr.write(`nsm: nsc: request failed: ${messageOf(err)}\n`);
        await Promise.all(conns.map((c) => client.close(c).catch(() => undefined)));
        await Promise.all([...memifApps.values()].map((a) => stopMemifApp(a).catch(() => undefined)));
        removePlaces();
        process.exit(1);
      }
      if (!flags.once) await waitForSignal(log);
      if (dnsConfigs().length > 0) removeResolvConf(netnsUrl);
      await Promise.all(conns.map((c) => client.close(c).catch((err) => log.warn({ connId: c.id, err }, 'close failed'))));
      await Promise.all([...memifApps.values()].map((a) => stopMemifApp(a).then((st) => log.info({ connId: a.connId, ...st }, 'memif application stopped'), () => undefined)));
      removePlaces();
      await tracer?.shutdown();
      await served?.server.stop();
      process.exit(0);
    });
}
