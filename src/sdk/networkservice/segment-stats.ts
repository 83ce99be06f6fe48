// segment-stats (forwarder): on the way back, fills this hop's path segment `metrics` with the
// kernel's counters of the connection's interface, as upstream forwarders do
// (`<ifname>_rx_bytes`, `_tx_bytes`, `_rx_packets`, `_tx_packets`, `_drops`).
// The counters come from a ConnectionStats source (src/observability reads the kernel).
import { element, type NetworkServiceElement } from '../core/chain.js';

/** Per-connection counters, by this hop's connection id (segment id), as path-segment metrics. */
export interface ConnectionStats {
  segmentMetrics(connId: string): Promise<Record<string, string> | undefined>;
}

export function segmentStats(name: string, stats: ConnectionStats): NetworkServiceElement {
  return element({
    async request(req, ctx, next) {
      const out = await next.request(req, ctx);
      const seg = out.path?.pathSegments.find((s) => s.name === name);
      if (!seg) return out;
      const m = await stats.segmentMetrics(seg.id).catch(() => undefined);
      if (m) seg.metrics = { ...seg.metrics, ...m };
      return out;
    },
  });
}
