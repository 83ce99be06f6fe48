// A passthrough endpoint (a link of a service function chain): an endpoint to the
// previous hop and a client of its own nsmgr to the next. It turns its namespace
// into a router (dataplane/forwarding.ts: a network function may touch the kernel of
// its own namespace), then serves the endpoint chain with the passthrough element.
import { enableForwarding } from '../dataplane/forwarding.js';
import type { Clock } from '../sdk/core/clock.js';
import type { Logger } from '../sdk/core/log.js';
import { passthrough } from '../sdk/networkservice/passthrough.js';
import { MeshClient } from './client.js';
import { connectionLine, stateLine, type ConnectionLine } from './connection-line.js';
import type { OnwardClient } from '../sdk/tools/passthrough-onward.js';
import { P } from '../sdk/tools/mechanisms.js';
import type { Connection } from '../api/index.js';
import type { MeshMetrics } from '../observability/mesh-metrics.js';
import type { HopTracer } from '../sdk/core/tracing.js';
import { startEndpoint, type RunningEndpoint } from './endpoint.js';

export interface PassthroughOptions {
  name: string;
  services: string[];
  /** Its endpoint labels, also the source labels of its onward requests. */
  labels: Record<string, string>;
  listenUrl: string;
  nsmgrUrl: string;
  /** Its namespace as an inodeURL (both of its interfaces go there). */
  netnsUrl: string;
  tokenLifetimeMs?: number;
  requestTimeoutMs?: number;
  /** Time for tokens, expiry and refresh (default real time; the sandbox tier passes a clock it advances). */
  clock?: Clock;
  /** Makes its namespace a router (default dataplane's enableForwarding; the sandbox tier passes a fake). */
  enableForwarding?: (netnsUrl: string) => Promise<void>;
  /** How long a connection waits for its forwarder's monitor stream before it is released (default 15 s). */
  orphanGraceMs?: number;
  /** Called with each onward connection's line when it is up, healing, healed or closed (for `nsm status`). */
  onConnection?: (line: ConnectionLine | ReturnType<typeof stateLine>) => void;
  /** How long stop() lets open calls finish (default 2 s; the sandbox tier uses 0). */
  stopGraceMs?: number;
  /** Prometheus metrics of this endpoint and its onward client (off when absent). */
  metrics?: MeshMetrics;
  /** Tracing of this endpoint and its onward requests; off when absent. */
  tracer?: HopTracer;
  log: Logger;
}

/** An onward client that reports what happens to its connections. */
function reporting(client: OnwardClient, report: NonNullable<PassthroughOptions['onConnection']>): OnwardClient {
  return {
    async request(r) {
      const conn = await client.request(r);
      report(connectionLine(conn, r.ifname));
      return conn;
    },
    async close(conn) {
      try {
        await client.close(conn);
      } finally {
        report(stateLine(conn.id, conn.mechanism?.parameters[P.name] ?? '', 'CLOSED'));
      }
    },
  };
}

export async function startPassthrough(opts: PassthroughOptions): Promise<RunningEndpoint> {
  await (opts.enableForwarding ?? enableForwarding)(opts.netnsUrl);
  const client = await MeshClient.create({
    name: opts.name,
    nsmgrUrl: opts.nsmgrUrl,
    log: opts.log,
    ...(opts.tokenLifetimeMs !== undefined ? { tokenLifetimeMs: opts.tokenLifetimeMs } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.tracer ? { tracer: opts.tracer } : {}),
    ...(opts.onConnection || opts.metrics ? { onState: (id: string, state: 'UP' | 'HEALING', conn?: Connection) => report(id, state, conn) } : {}),
  });
  const report = (id: string, state: 'UP' | 'HEALING', conn?: Connection) => {
    if (state === 'HEALING') opts.metrics?.heal();
    opts.onConnection?.(state === 'HEALING' || !conn ? stateLine(id, '', 'HEALING') : connectionLine(conn, undefined, 'UP'));
  };
  const onward: OnwardClient = opts.onConnection ? reporting(client, opts.onConnection) : client;
  const labels = Object.keys(opts.labels).length > 0 ? opts.labels : { app: opts.name };
  return startEndpoint({
    name: opts.name,
    services: opts.services,
    labels,
    cidrs: [],
    listenUrl: opts.listenUrl,
    nsmgrUrl: opts.nsmgrUrl,
    netnsUrl: opts.netnsUrl,
    log: opts.log,
    ...(opts.tokenLifetimeMs !== undefined ? { tokenLifetimeMs: opts.tokenLifetimeMs } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.stopGraceMs !== undefined ? { stopGraceMs: opts.stopGraceMs } : {}),
    ...(opts.orphanGraceMs !== undefined ? { orphanGraceMs: opts.orphanGraceMs } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.tracer ? { tracer: opts.tracer } : {}),
    extra: [passthrough(onward, { labels, netnsUrl: opts.netnsUrl, ...(opts.requestTimeoutMs !== undefined ? { timeoutMs: opts.requestTimeoutMs } : {}) })],
  });
}
