// A mesh client (NSC) for programs: requests kernel connections to network
// services from the local nsmgr, keeps them refreshed, and closes them.
import { Connection, NetworkServiceRequest } from '../api/index.js';
import { newClientChain } from '../sdk/chains/client.js';
import type { NetworkServiceElement, NetworkServiceHandler } from '../sdk/core/chain.js';
import { newCtx } from '../sdk/core/ctx.js';
import type { Logger } from '../sdk/core/log.js';
import { silentLogger } from '../sdk/core/log.js';
import { newTokenSigner } from '../sdk/core/token.js';
import { kernelMechanism, P } from '../sdk/tools/mechanisms.js';
import { heal, type HealState } from '../sdk/networkservice/heal.js';
import { pingCheck } from '../dataplane/liveness.js';
import { sharedPeerWatcher } from '../sdk/tools/peer-watch.js';

export interface ClientOptions {
  name: string;
  nsmgrUrl: string;
  log?: Logger;
  tokenLifetimeMs?: number;
  extra?: NetworkServiceElement[];
  onRefreshError?: (connId: string, err: unknown) => void;
  /** Heal broken connections (default true). */
  heal?: boolean;
  /** Ping each connection's dst this often; 2 failures in a row heal with reselection (0/undefined: no data-path check). */
  livenessIntervalMs?: number;
  /** Called when a connection starts healing (HEALING) and when it is back (UP, with the new connection). */
  onState?: (connId: string, state: HealState, conn?: Connection) => void;
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
}

export class MeshClient {
  private readonly chain: NetworkServiceHandler;
  private readonly log: Logger;

  private constructor(chain: NetworkServiceHandler, log: Logger) {
    this.chain = chain;
    this.log = log;
  }

  static async create(opts: ClientOptions): Promise<MeshClient> {
    const signer = await newTokenSigner(opts.tokenLifetimeMs);
    const log = opts.log ?? silentLogger;
    const chain = newClientChain({
      name: opts.name,
      nsmgrUrl: opts.nsmgrUrl,
      signer,
      extra: [
        ...(opts.heal === false
          ? []
          : [
              heal({
                watcher: sharedPeerWatcher(log),
                ...(opts.livenessIntervalMs ? { liveness: pingCheck(), livenessIntervalMs: opts.livenessIntervalMs } : {}),
                ...(opts.onState ? { onState: opts.onState } : {}),
              }),
            ]),
        ...(opts.extra ?? []),
      ],
      ...(opts.onRefreshError ? { onRefreshError: opts.onRefreshError } : {}),
    });
    return new MeshClient(chain, log);
  }

  /** Requests a kernel interface to `service`; resolves when the data plane is in place. */
  request(r: KernelRequest): Promise<Connection> {
    const req = NetworkServiceRequest.fromPartial({
      connection: {
        networkService: r.service,
        labels: r.labels ?? {},
        networkServiceEndpointName: r.endpoint ?? '',
        context: { ipContext: { excludedPrefixes: r.excludedPrefixes ?? [] } },
      },
      mechanismPreferences: [kernelMechanism({ [P.name]: r.ifname, [P.inodeURL]: r.netnsUrl })],
    });
    return this.chain.request(req, newCtx({ log: this.log, timeoutMs: r.timeoutMs ?? 15_000 }));
  }

  /** Closes a connection along its whole path. */
  close(conn: Connection, timeoutMs = 15_000): Promise<void> {
    return this.chain.close(conn, newCtx({ log: this.log, timeoutMs }));
  }
}
