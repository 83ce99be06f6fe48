// Per-connection traffic counters of a forwarder: the kernel's rx/tx bytes, packets and drops of
// each interface it programmed for a connection (found by the connection's alias tag), exported as
// Prometheus series and as the path segment's `metrics` map (upstream's `<ifname>_rx_bytes`, ...).
import { Counter } from 'prom-client';
import type { ConnectionStats, SegmentMetricsOptions } from '../sdk/networkservice/segment-stats.js';
import type { ProgrammedLink } from '../sdk/networkservice/program-dataplane.js';
import type { MeshMetrics } from './mesh-metrics.js';

export interface Counters {
  rxBytes: number;
  rxPackets: number;
  rxDrops: number;
  txBytes: number;
  txPackets: number;
  txDrops: number;
}

export interface ConnectionCountersOptions {
  /** Ids of the connections this forwarder holds now (its own segment ids). */
  connectionIds(): Iterable<string>;
  /** The links programmed for a connection (the data plane's record of tagged links). */
  linksOf(connId: string): ProgrammedLink[];
  /** Counters of the named interfaces of a namespace (dataplane's readLinkCounters; it may answer more). */
  read(netns: string, names: string[]): Promise<Map<string, Counters>>;
}

type Row = { connection: string; interface: string; counters: Counters };

const ZERO: Counters = { rxBytes: 0, rxPackets: 0, rxDrops: 0, txBytes: 0, txPackets: 0, txDrops: 0 };

const SERIES: [keyof Counters, string, string][] = [
  ['rxBytes', 'nsm_connection_rx_bytes_total', 'Bytes received on the connection interface'],
  ['txBytes', 'nsm_connection_tx_bytes_total', 'Bytes sent on the connection interface'],
  ['rxPackets', 'nsm_connection_rx_packets_total', 'Packets received on the connection interface'],
  ['txPackets', 'nsm_connection_tx_packets_total', 'Packets sent on the connection interface'],
  ['rxDrops', 'nsm_connection_rx_drops_total', 'Packets dropped on receive on the connection interface'],
  ['txDrops', 'nsm_connection_tx_drops_total', 'Packets dropped on send on the connection interface'],
];

export class ConnectionCounters implements ConnectionStats {
  constructor(private readonly opts: ConnectionCountersOptions) {}

  /** Counters of one connection's interfaces. */
  async of(connId: string): Promise<Row[]> {
    const byNetns = new Map<string, string[]>();
    for (const l of this.opts.linksOf(connId)) byNetns.set(l.netns, [...(byNetns.get(l.netns) ?? []), l.name]);
    // The namespaces at once: each read waits for the kernel's answers.
    const read = await Promise.all([...byNetns].map(async ([netns, names]) => ({ names, all: await this.opts.read(netns, names).catch(() => undefined) })));
    const rows: Row[] = [];
    for (const { names, all } of read) {
      for (const name of names) {
        const c = all?.get(name);
        if (c) rows.push({ connection: connId, interface: name, counters: c });
      }
    }
    return rows;
  }

  /** `fresh`: the links were made in this Request (zeros, the kernel is not asked). */
  async segmentMetrics(connId: string, opts?: SegmentMetricsOptions): Promise<Record<string, string> | undefined> {
    const rows = opts?.fresh ? this.opts.linksOf(connId).map((l) => ({ connection: connId, interface: l.name, counters: ZERO })) : await this.of(connId);
    if (rows.length === 0) return undefined;
    const m: Record<string, string> = {};
    for (const r of rows) {
      m[`${r.interface}_rx_bytes`] = String(r.counters.rxBytes);
      m[`${r.interface}_tx_bytes`] = String(r.counters.txBytes);
      m[`${r.interface}_rx_packets`] = String(r.counters.rxPackets);
      m[`${r.interface}_tx_packets`] = String(r.counters.txPackets);
      m[`${r.interface}_drops`] = String(r.counters.rxDrops + r.counters.txDrops);
    }
    return m;
  }

  /** Registers the `nsm_connection_*_total{connection,interface}` series, read from the kernel at scrape time. */
  register(metrics: MeshMetrics): void {
    let snapshot: Promise<Row[]> | undefined;
    // One kernel read per scrape, shared by the six series.
    const rows = () =>
      (snapshot ??= (async () => {
        const out: Row[] = [];
        for (const id of this.opts.connectionIds()) out.push(...(await this.of(id)));
        setImmediate(() => (snapshot = undefined));
        return out;
      })());
    for (const [field, name, help] of SERIES) {
      new Counter({
        name,
        help,
        labelNames: ['connection', 'interface'],
        registers: [metrics.registry],
        async collect() {
          this.reset();
          for (const r of await rows()) this.inc({ connection: r.connection, interface: r.interface }, r.counters[field]);
        },
      });
    }
  }
}
