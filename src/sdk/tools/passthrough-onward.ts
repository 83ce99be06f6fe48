// passthrough-onward: what a passthrough asks for onward when a connection arrives:
// the same network service, with the passthrough's own labels as the source labels
// (so the service's matches steer it to the next function of the chain), as a kernel
// interface in the passthrough's own namespace, keeping the client's excluded prefixes.
// Pure; the OnwardClient that sends it is a MeshClient in production, a fake in tests.
import type { TraceHeaders } from '../core/tracing.js';
import type { Connection } from '../../api/index.js';

export interface OnwardRequest {
  service: string;
  ifname: string;
  netnsUrl: string;
  labels: Record<string, string>;
  excludedPrefixes: string[];
  timeoutMs?: number;
  /** Trace context of the incoming Request's span: the onward Request continues its trace. */
  trace?: TraceHeaders;
}

/** Requests and closes onward connections (MeshClient satisfies it). */
export interface OnwardClient {
  request(r: OnwardRequest): Promise<Connection>;
  close(conn: Connection): Promise<void>;
}

export interface OnwardOptions {
  /** Source labels of the onward request (the passthrough's own labels). */
  labels: Record<string, string>;
  /** The passthrough's namespace, as an inodeURL. */
  netnsUrl: string;
  /** Prefix of the onward interface's name (default "pto"). */
  ifnamePrefix?: string;
  timeoutMs?: number;
}

/** Onward interface name: prefix + 8 hex digits of the incoming connection id (<= 15 characters). */
export function onwardIfname(incomingId: string, prefix = 'pto'): string {
  return `${prefix.slice(0, 6)}-${incomingId.replace(/[^0-9a-zA-Z]/g, '').slice(0, 8)}`;
}

export function onwardRequest(incoming: Connection, opts: OnwardOptions): OnwardRequest {
  return {
    service: incoming.networkService,
    ifname: onwardIfname(incoming.id, opts.ifnamePrefix),
    netnsUrl: opts.netnsUrl,
    labels: { ...opts.labels },
    excludedPrefixes: [...(incoming.context?.ipContext?.excludedPrefixes ?? [])],
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  };
}
