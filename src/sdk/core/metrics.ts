// What the sdk reports to a metrics backend (implemented by src/observability with prom-client):
// per-hop Request/Close outcomes and latency, reselects, heals and registry calls. The sdk only
// calls this interface; without a recorder nothing is measured.
import { Status } from '../../api/errors.js';

export type HopMethod = 'request' | 'close';

export interface MetricsRecorder {
  /** One Request or Close done by this hop: its gRPC status name (`OK` on success) and how long it took. */
  hop(method: HopMethod, code: string, seconds: number): void;
  /** A Request arrived asking for a new selection (state RESELECT_REQUESTED). */
  reselect?(): void;
  /** A client-side connection started healing. */
  heal?(): void;
}

/** The gRPC status name of an error (or OK), from the `code` our errors and nice-grpc's carry. */
export function statusName(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number' && Status[code] !== undefined) return Status[code];
  if (err && (err as { name?: string }).name === 'AbortError') return 'CANCELLED';
  return 'UNKNOWN';
}
