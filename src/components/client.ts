// A mesh client (NSC) for programs: requests kernel connections to network
// services from the local nsmgr, keeps them refreshed, and closes them (one by one, or all at shutdown).
import { withHopMetrics } from '../sdk/networkservice/hop-metrics.js';
import { hopTrace } from '../sdk/networkservice/hop-trace.js';
import type { HopTracer, TraceHeaders } from '../sdk/core/tracing.js';
import type { MeshMetrics } from '../observability/mesh-metrics.js';
import { Connection, NetworkServiceRequest } from '../api/index.js';
import { echoLiveness } from '../dataplane/echo-liveness.js';
import { newClientChain } from '../sdk/chains/client.js';
import type { NetworkServiceElement, NetworkServiceHandler } from '../sdk/core/chain.js';
import type { Clock } from '../sdk/core/clock.js';
import { newDeadlineCtx } from '../sdk/core/ctx.js';
import { FailedPreconditionError, messageOf } from '../api/errors.js';
import type { Logger } from '../sdk/core/log.js';
import { silentLogger } from '../sdk/core/log.js';
import { newTokenSigner } from '../sdk/core/token.js';
import { cachingSigner } from '../sdk/core/token-cache.js';
import { kernelMechanism, memifMechanism, P, vhostUserMechanism } from '../sdk/tools/mechanisms.js';
import { heal, type HealState } from '../sdk/networkservice/heal.js';
import type { LivenessCheck } from '../sdk/tools/liveness.js';
import { sharedPeerWatcher } from '../sdk/tools/peer-watch.js';

export interface ClientOptions {
  name: string;
  nsmgrUrl: string;
  log?: Logger;
  tokenLifetimeMs?: number;
  /** Time for its tokens and refresh (default real time; the sandbox tier passes a clock it advances). */
  clock?: Clock;
  extra?: NetworkServiceElement[];
  onRefreshError?: (connId: string, err: unknown) => void;
  /** Heal broken connections (default true). */
  heal?: boolean;
  /** Check each connection's data path this often (an in-process ICMP echo from the client's namespace to its
   *  dst address); 2 failures in a row heal with reselection (0/undefined: no data-path check). */
  livenessIntervalMs?: number;
  /** The data-path check (default: the in-process ICMP echo of src/dataplane/echo-liveness.ts). */
  liveness?: LivenessCheck;
  /** Deadline of one heal attempt (default 5 s; DPDK workloads, whose heal starts processes, pass their request timeout). */
  healAttemptTimeoutMs?: number;
  /** Called when a connection starts healing (HEALING) and when it is back (UP, with the new connection). */
  onState?: (connId: string, state: HealState, conn?: Connection) => void;
  /** Prometheus metrics of this client (off when absent): its hop and its heals. */
  metrics?: MeshMetrics;
  /** Tracing (one span per Request/Close, W3C trace context across hops); off when absent. */
  tracer?: HopTracer;
}

export interface KernelRequest {
  service: string;
  /** Interface name in the client's namespace (<= 15 characters). */
  ifname: string;
  /** The client's namespace as an inodeURL (file:///var/run/netns/X, file:///proc/PID/ns/net, inode://DEV/INO). */
  netnsUrl: string;
  labels?: Record<string, string>;
  /** Ask for this endpoint by name. */
  endpoint?: string;
  excludedPrefixes?: string[];
  timeoutMs?: number;
  /** W3C trace context this Request continues (e.g. a passthrough's incoming Request). */
  trace?: TraceHeaders;
  /** The connection id (default: one made by the chain); a DPDK workload names its memif directory after it. */
  id?: string;
  /** A MEMIF workload: its memif socket file (it serves it) instead of a kernel interface. */
  memifSocket?: string;
  /** A VHOSTUSER workload (virtio NIC): the socket file the forwarder serves for it (it joins once the Request returns). */
  vhostSocket?: string;
}

export class MeshClient {
  private readonly chain: NetworkServiceHandler;
  private readonly log: Logger;
  /** Connections requested and not closed yet, by id (the latest version, also after a heal). */
  private readonly open: Map<string, Connection>;
  private stopped = false;

  private constructor(chain: NetworkServiceHandler, log: Logger, open: Map<string, Connection>) {
    this.chain = chain;
    this.log = log;
    this.open = open;
  }

  static async create(opts: ClientOptions): Promise<MeshClient> {
    const signer = cachingSigner(await newTokenSigner(opts.tokenLifetimeMs, opts.clock), opts.clock ? { clock: opts.clock } : {});
    const log = opts.log ?? silentLogger;
    const open = new Map<string, Connection>();
    const onState = (connId: string, state: HealState, conn?: Connection) => {
      if (conn && open.has(connId)) open.set(connId, conn);
      if (state === 'HEALING') opts.metrics?.heal();
      opts.onState?.(connId, state, conn);
    };
    const chain = newClientChain({
      name: opts.name,
      nsmgrUrl: opts.nsmgrUrl,
      signer,
      ...(opts.clock ? { clock: opts.clock } : {}),
      extra: [
        ...(opts.heal === false
          ? []
          : [
              heal({
                watcher: sharedPeerWatcher(log),
                ...(opts.livenessIntervalMs ? { liveness: opts.liveness ?? echoLiveness(), livenessIntervalMs: opts.livenessIntervalMs } : {}),
                ...(opts.healAttemptTimeoutMs ? { attemptTimeoutMs: opts.healAttemptTimeoutMs } : {}),
                onState,
              }),
            ]),
        ...(opts.extra ?? []),
      ],
      ...(opts.onRefreshError ? { onRefreshError: opts.onRefreshError } : {}),
    });
    opts.metrics?.activeConnections(() => open.size);
    return new MeshClient(withHopMetrics(chain, opts.metrics, ...(opts.tracer ? [hopTrace(opts.tracer, opts.name)] : [])), log, open);
  }

  /** Requests a kernel interface to `service`; resolves when the data plane is in place. */
  async request(r: KernelRequest): Promise<Connection> {
    if (this.stopped) throw new FailedPreconditionError('this MeshClient is shut down');
    const req = NetworkServiceRequest.fromPartial({
      connection: {
        id: r.id ?? '',
        networkService: r.service,
        labels: r.labels ?? {},
        networkServiceEndpointName: r.endpoint ?? '',
        context: { ipContext: { excludedPrefixes: r.excludedPrefixes ?? [] } },
      },
      mechanismPreferences: [
        r.memifSocket
          ? memifMechanism({ [P.socketfile]: r.memifSocket, [P.inodeURL]: `file://${r.memifSocket}` })
          : r.vhostSocket
            ? vhostUserMechanism({ [P.socketfile]: r.vhostSocket, [P.inodeURL]: `file://${r.vhostSocket}` })
            : kernelMechanism({ [P.name]: r.ifname, [P.inodeURL]: r.netnsUrl }),
      ],
    });
    // The deadline's timer ends with the call (an AbortSignal.timeout would stay for the whole 15 s after it).
    const { ctx, end } = newDeadlineCtx({ log: this.log, timeoutMs: r.timeoutMs ?? 15_000, ...(r.trace ? { incoming: { ...r.trace } } : {}) });
    try {
      const conn = await this.chain.request(req, ctx);
      this.open.set(conn.id, conn);
      return conn;
    } finally {
      end();
    }
  }

  /** Closes a connection along its whole path (its refresh and heal stop with it). */
  async close(conn: Connection, timeoutMs = 15_000): Promise<void> {
    const { ctx, end } = newDeadlineCtx({ log: this.log, timeoutMs });
    try {
      await this.chain.close(this.open.get(conn.id) ?? conn, ctx);
    } finally {
      end();
      this.open.delete(conn.id);
    }
  }

  /** Ids of the connections requested through this client and not closed yet. */
  get connectionIds(): string[] {
    return [...this.open.keys()];
  }

  /**
   * Closes every connection still open through this client and refuses new requests; after it
   * (and `stop()` of endpoints started in the process) nothing of the mesh keeps the process alive.
   * A Close that fails is logged, not thrown. Idempotent.
   */
  async shutdown(timeoutMs = 15_000): Promise<void> {
    this.stopped = true;
    await Promise.all(
      [...this.open.values()].map((conn) =>
        this.close(conn, timeoutMs).catch((err) => this.log.warn({ connId: conn.id, err: messageOf(err) }, 'shutdown: close failed')),
      ),
    );
  }
}
