// Pure functions from one refresh of the dashboard feed (status + monitor streams) to what the page
// draws: graph elements in cytoscape's JSON form (mesh nodes as compound parents, components and
// workloads inside them, one edge per hop of each connection), the connection table and counters.
import type { DashConnection, DashInput, MonitoredConnection } from './types.js';

export interface GraphElement {
  group: 'nodes' | 'edges';
  data: Record<string, string | number | undefined>;
  position?: { x: number; y: number };
  classes?: string;
}

export interface Traffic {
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
  /** Which segment and interface the numbers come from, e.g. "forwarder-node-1 nsm-1". */
  from: string;
}

export interface ConnectionRow extends DashConnection {
  /** `nsm up` (a client of the scenario) or `monitor` (seen only by the nsmgrs). */
  source: 'nsm up' | 'monitor';
  traffic?: Traffic;
  /** Every counter of every path segment: "segment iface_key" -> value. */
  counters: Record<string, string>;
}

export interface Summary {
  phase: string;
  components: number;
  running: number;
  restarts: number;
  connections: number;
  up: number;
  down: number;
  healing: number;
  rxBytes: number;
  txBytes: number;
}

export interface DashboardView {
  name: string;
  time: number;
  errors: string[];
  summary: Summary;
  elements: GraphElement[];
  connections: ConnectionRow[];
}

/** Rows from top to bottom inside a node's box. */
const ROW: Record<string, number> = { client: 0, nsmgr: 1, forwarder: 2, endpoint: 3 };
const NODE_WIDTH = 460;
const ROW_HEIGHT = 130;
const COL_WIDTH = 140;

export const nodeId = (name: string): string => `node:${name}`;
export const componentId = (name: string): string => `c:${name}`;
export const hopId = (connId: string, i: number): string => `hop:${connId}:${i}`;

/** Every connection: the scenario's (status) first, then those only the nsmgrs know, with counters. */
export function connectionRows(input: DashInput): ConnectionRow[] {
  const monitored = new Map(input.monitored.map((m) => [m.id, m]));
  const rows: ConnectionRow[] = (input.status?.connections ?? []).map((c) => withCounters({ ...c, source: 'nsm up' as const }, c.id ? monitored.get(c.id) : undefined));
  const known = new Set(rows.map((r) => r.id));
  for (const m of input.monitored) {
    if (known.has(m.id)) continue;
    const names = m.segments.map((s) => s.name);
    rows.push(
      withCounters(
        { id: m.id, client: names[0] ?? '?', service: m.service, endpoint: names.at(-1) ?? '', mechanism: m.mechanism, interface: '', srcIp: '', dstIp: '', path: names, state: m.state, source: 'monitor' },
        m,
      ),
    );
  }
  return rows;
}

function withCounters(row: Omit<ConnectionRow, 'counters'>, m: MonitoredConnection | undefined): ConnectionRow {
  const counters: Record<string, string> = {};
  for (const s of m?.segments ?? []) for (const [k, v] of Object.entries(s.metrics)) counters[`${s.name} ${k}`] = v;
  const traffic = m ? trafficOf(m.segments) : undefined;
  return { ...row, counters, ...(traffic ? { traffic } : {}) };
}

/** The first segment/interface on the path that reports byte counters (`<iface>_rx_bytes`, ...). */
export function trafficOf(segments: MonitoredConnection['segments']): Traffic | undefined {
  for (const s of segments) {
    const iface = Object.keys(s.metrics).filter((k) => k.endsWith('_rx_bytes')).sort()[0]?.slice(0, -'_rx_bytes'.length);
    if (iface === undefined) continue;
    const n = (k: string) => Number(s.metrics[`${iface}_${k}`] ?? 0) || 0;
    return { rxBytes: n('rx_bytes'), txBytes: n('tx_bytes'), rxPackets: n('rx_packets'), txPackets: n('tx_packets'), from: `${s.name} ${iface}` };
  }
  return undefined;
}

export function summarize(input: DashInput, rows: ConnectionRow[]): Summary {
  const comps = input.status?.components ?? [];
  const count = (st: string) => rows.filter((r) => r.state === st).length;
  return {
    phase: input.status?.phase ?? 'down',
    components: comps.length,
    running: comps.filter((c) => c.state === 'running').length,
    restarts: comps.reduce((n, c) => n + c.restarts, 0),
    connections: rows.length,
    up: count('UP'),
    down: count('DOWN'),
    healing: count('HEALING'),
    rxBytes: rows.reduce((n, r) => n + (r.traffic?.rxBytes ?? 0), 0),
    txBytes: rows.reduce((n, r) => n + (r.traffic?.txBytes ?? 0), 0),
  };
}

/** Graph elements with preset positions: one box per mesh node, rows client/nsmgr/forwarder/endpoint. */
export function graphElements(input: DashInput, rows: ConnectionRow[]): GraphElement[] {
  const st = input.status;
  const out: GraphElement[] = [];
  const nodeNames = [...new Set([...(st?.components ?? []).map((c) => c.node), ...(st?.workloads ?? []).map((w) => w.node)].filter((n): n is string => !!n))];
  nodeNames.forEach((n) => out.push({ group: 'nodes', data: { id: nodeId(n), label: n, kind: 'node' }, classes: 'mesh-node' }));
  const slots = new Map<string, number>();
  const place = (node: string | undefined, kind: string): { x: number; y: number } => {
    const col = node ? nodeNames.indexOf(node) : -1;
    const key = `${node ?? ''}/${kind}`;
    const i = slots.get(key) ?? 0;
    slots.set(key, i + 1);
    if (col < 0) return { x: ((nodeNames.length - 1) * NODE_WIDTH) / 2 + i * COL_WIDTH, y: -ROW_HEIGHT * 1.6 };
    return { x: col * NODE_WIDTH + i * COL_WIDTH, y: (ROW[kind] ?? 4) * ROW_HEIGHT };
  };
  const byName = new Map<string, string>();
  for (const c of st?.components ?? []) {
    const id = componentId(c.name);
    byName.set(c.name, id);
    out.push({
      group: 'nodes',
      data: { id, label: c.name, name: c.name, kind: c.kind, state: c.state, restarts: c.restarts, pid: c.pid, ...(c.node ? { parent: nodeId(c.node) } : {}) },
      position: place(c.node, c.kind),
      classes: `component ${c.kind} ${c.state}`,
    });
  }
  // Names on a path that are no component of the mesh (a client started by hand): drawn outside the boxes.
  for (const r of rows) {
    for (const name of r.path) {
      if (byName.has(name)) continue;
      const id = componentId(name);
      byName.set(name, id);
      // Above the box of the node whose nsmgr it asked.
      const via = (st?.components ?? []).find((c) => c.name === r.path[1])?.node;
      const p = place(via, 'external');
      out.push({ group: 'nodes', data: { id, label: name, name, kind: 'external', state: 'running' }, position: via ? { x: p.x, y: -ROW_HEIGHT * 0.7 } : p, classes: 'component external' });
    }
  }
  const registries = (st?.components ?? []).filter((c) => c.kind === 'registry');
  for (const m of (st?.components ?? []).filter((c) => c.kind === 'nsmgr')) {
    for (const r of registries) out.push({ group: 'edges', data: { id: `ctl:${m.name}:${r.name}`, source: componentId(m.name), target: componentId(r.name), kind: 'control' }, classes: 'control' });
  }
  for (const r of rows) {
    if (!r.id) continue;
    for (let i = 0; i + 1 < r.path.length; i++) {
      const a = r.path[i]!;
      const b = r.path[i + 1]!;
      out.push({
        group: 'edges',
        data: { id: hopId(r.id, i), source: byName.get(a)!, target: byName.get(b)!, conn: r.id, client: r.client, service: r.service, state: r.state, label: hopMechanism(r, i, st?.components ?? []) },
        classes: `hop ${r.state}`,
      });
    }
  }
  return out;
}

/** The mechanism a hop uses: the client's on the first hop, the remote one between the nodes' forwarders and nsmgrs, else none. */
function hopMechanism(r: ConnectionRow, i: number, comps: { name: string; node?: string }[]): string {
  if (i === 0) return r.mechanism;
  const node = (n: string) => comps.find((c) => c.name === n)?.node;
  const a = node(r.path[i]!);
  const b = node(r.path[i + 1]!);
  if (a && b && a !== b) return r.remoteMechanism ?? '';
  if (i === r.path.length - 2) return r.mechanism;
  return '';
}

export function dashboardView(input: DashInput): DashboardView {
  const rows = connectionRows(input);
  return { name: input.status?.name ?? '', time: input.time, errors: input.errors, summary: summarize(input, rows), elements: graphElements(input, rows), connections: rows };
}
