// One refresh of the dashboard's data for a mesh brought up by `nsm up`: the same status `nsm status
// --json` prints, plus the nsmgrs' monitor streams (connections made outside `nsm up`, counters).
import type { DashInput, MonitoredConnection } from '../../observability/dashboard/types.js';
import { messageOf } from '../../api/errors.js';
import { readState } from '../state.js';
import { meshStatus } from '../status.js';
import { meshConnections, stateName, type SeenConnection } from './connection-lists.js';
import { sourcesOfMesh } from './sources.js';

export const toMonitored = (c: SeenConnection): MonitoredConnection => ({
  id: c.id,
  service: c.conn.networkService,
  state: stateName(c.conn.state),
  mechanism: c.conn.mechanism?.type ?? '',
  segments: (c.conn.path?.pathSegments ?? []).map((s) => ({ name: s.name, id: s.id, metrics: { ...s.metrics } })),
});

export async function meshDashboardInput(name: string, timeoutMs = 2000): Promise<DashInput> {
  const state = await readState(name);
  if (!state) return { status: undefined, monitored: [], errors: [`mesh "${name}" is not up`], time: Date.now() };
  const errors: string[] = [];
  const [status, seen] = await Promise.all([
    meshStatus(state),
    meshConnections(sourcesOfMesh(state).nsmgrUrls, timeoutMs).catch((err: unknown) => ({ connections: [], errors: [messageOf(err)] })),
  ]);
  errors.push(...seen.errors);
  return { status, monitored: seen.connections.map(toMonitored), errors, time: Date.now() };
}
