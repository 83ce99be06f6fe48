// segment-stats (forwarder): on the way back, fills this hop's path segment `metrics` with the
// kernel's counters of the connection's interface, as upstream forwarders do
// (`<ifname>_rx_bytes`, `_tx_bytes`, `_rx_packets`, `_tx_packets`, `_drops`).
// The counters come from a ConnectionStats source (src/observability reads the kernel).
// A Request that gave this hop a new segment (the connection's first here, or one moved to a new id) made its
// links just now (they are tagged with the segment's id), so the source is told (`fresh`) and may answer zeros
// without asking the kernel (0.1-0.2 ms of CPU and two rtnetlink round trips per Request).
import { element, type NetworkServiceElement } from '../core/chain.js';

export interface SegmentMetricsOptions {
  /** The connection's links were made in this very Request: their counters are zeros, no read needed. */
  fresh?: boolean;
}

/** Per-connection counters, by this hop's connection id (segment id), as path-segment metrics. */
export interface ConnectionStats {
  segmentMetrics(connId: string, opts?: SegmentMetricsOptions): Promise<Record<string, string> | undefined>;
}

export function segmentStats(name: string, stats: ConnectionStats): NetworkServiceElement {
  return element({
    async request(req, ctx, next) {
      // this hop's segment id(s) the caller sent (a refresh names the segment it got back before)
      let known: string[] | undefined;
      for (const s of req.connection?.path?.pathSegments ?? []) if (s.name === name && s.id) (known ??= []).push(s.id);
      const out = await next.request(req, ctx);
      const seg = out.path?.pathSegments.find((s) => s.name === name);
      if (!seg) return out;
      const fresh = !known?.includes(seg.id);
      const m = await stats.segmentMetrics(seg.id, fresh ? { fresh } : undefined).catch(() => undefined);
      if (m) seg.metrics = { ...seg.metrics, ...m };
      return out;
    },
  });
}
