// What the dashboard shows, as plain data: the mesh status (the same object `nsm status --json`
// prints, declared here structurally because observability sits below cluster) plus what the
// nsmgrs' monitor streams add (connections made outside `nsm up`, path segment counters).

export interface DashComponent {
  name: string;
  kind: string;
  node?: string;
  pid: number;
  state: string;
  restarts: number;
  metricsUrl?: string;
}

export interface DashWorkload {
  name: string;
  kind: string;
  node: string;
  runtime?: string;
}

export interface DashConnection {
  id: string;
  client: string;
  service: string;
  endpoint: string;
  mechanism: string;
  remoteMechanism?: string;
  interface: string;
  srcIp: string;
  dstIp: string;
  path: string[];
  state: string;
}

/** The subset of `nsm status --json` the dashboard reads. */
export interface DashStatus {
  name: string;
  phase: string;
  components: DashComponent[];
  workloads: DashWorkload[];
  connections: DashConnection[];
}

/** One connection as an nsmgr's monitor stream reports it. */
export interface MonitoredConnection {
  /** The client's connection id (first path segment). */
  id: string;
  service: string;
  state: string;
  mechanism: string;
  /** Path segments: name and the counters the forwarders put in `metrics`. */
  segments: { name: string; id: string; metrics: Record<string, string> }[];
}

/** Everything one refresh of the feed gathers. */
export interface DashInput {
  status: DashStatus | undefined;
  monitored: MonitoredConnection[];
  /** Sources that could not be read (e.g. an nsmgr that did not answer). */
  errors: string[];
  /** Milliseconds since the epoch. */
  time: number;
}
