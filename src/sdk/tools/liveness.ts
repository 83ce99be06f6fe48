// liveness (client): the data-path check the heal element runs on each connection, declared here
// and implemented by the data plane (src/dataplane/echo-liveness.ts: an in-process ICMP echo from
// the client's namespace to the connection's dst address). A check that cannot run (a missing tool,
// no permission) says so; it never claims the data path is broken.
import type { Connection } from '../../api/index.js';
import { P } from './mechanisms.js';

/** 'alive': traffic flows; 'dead': it does not; cannotCheck: the check itself could not run (why). */
export type LivenessVerdict = 'alive' | 'dead' | { cannotCheck: string };

export interface LivenessCheck {
  /** Checks `conn`'s data path; never rejects. */
  check(conn: Connection): Promise<LivenessVerdict>;
  /** The connection `connId` is closed: free what its checks held (sockets). */
  release?(connId: string): void;
}

/** What a data-path check of `conn` needs: the client's namespace (its inodeURL) and the far end's address. */
export interface LivenessTarget {
  netnsUrl: string;
  /** The connection's first dst address without its prefix length (IPv4 or IPv6). */
  dst: string;
}

export function livenessTarget(conn: Connection): LivenessTarget | undefined {
  const netnsUrl = conn.mechanism?.parameters[P.inodeURL];
  const dst = conn.context?.ipContext?.dstIpAddrs[0]?.split('/')[0];
  return netnsUrl && dst ? { netnsUrl, dst } : undefined;
}

export const cannotCheck = (v: LivenessVerdict): v is { cannotCheck: string } => typeof v === 'object';
