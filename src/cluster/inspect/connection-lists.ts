// The connections of a mesh as its nsmgrs know them: the initial state of each nsmgr's
// MonitorConnections stream (so connections made outside `nsm up` are included), one entry per
// connection (keyed by its first segment's id: the client's), the fullest view kept.
import { createClient } from 'nice-grpc';
import { ConnectionEventType, MonitorConnectionDefinition, State, type Connection } from '../../api/index.js';
import { channelTo } from '../../api/transport.js';
import { messageOf } from '../../api/errors.js';

export interface SeenConnection {
  /** The client's connection id (the first path segment's). */
  id: string;
  conn: Connection;
  /** The nsmgrs that hold it (URLs). */
  nsmgrs: string[];
}

/** The connections one nsmgr holds now (its monitor's initial state transfer). */
export async function nsmgrConnections(url: string, timeoutMs = 5000): Promise<Connection[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`${url}: no answer from MonitorConnections within ${timeoutMs} ms`)), timeoutMs);
  try {
    const stream = createClient(MonitorConnectionDefinition, channelTo(url)).monitorConnections({ pathSegments: [] }, { signal: ac.signal });
    for await (const ev of stream) {
      if (ev.type === ConnectionEventType.INITIAL_STATE_TRANSFER) return Object.values(ev.connections);
    }
    return [];
  } catch (err) {
    throw new Error(`${url}: ${messageOf(err)}`, { cause: err });
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

/** All nsmgrs' connections, one entry per client connection; an nsmgr that cannot be asked is reported in `errors`. */
export async function meshConnections(nsmgrUrls: string[], timeoutMs = 5000): Promise<{ connections: SeenConnection[]; errors: string[] }> {
  const byId = new Map<string, SeenConnection>();
  const errors: string[] = [];
  const answers = await Promise.all(nsmgrUrls.map((u) => nsmgrConnections(u, timeoutMs).then((c) => ({ u, c }), (err: unknown) => (errors.push(messageOf(err)), { u, c: [] as Connection[] }))));
  for (const { u, c: conns } of answers) {
    for (const conn of conns) {
      const id = conn.path?.pathSegments[0]?.id || conn.id;
      const have = byId.get(id);
      if (!have) {
        byId.set(id, { id, conn, nsmgrs: [u] });
        continue;
      }
      have.nsmgrs.push(u);
      // The first nsmgr of the path sees the client's mechanism and the whole path.
      if ((conn.path?.index ?? 99) < (have.conn.path?.index ?? 99)) have.conn = conn;
    }
  }
  return { connections: [...byId.values()].sort((a, b) => a.id.localeCompare(b.id)), errors };
}

export const stateName = (s: State): string => (State[s] ?? String(s)).replace(/^UNRECOGNIZED$/, '?');

/** Finds a connection by any of its segment ids (or a unique prefix of one). */
export function findConnection(all: SeenConnection[], id: string): SeenConnection[] {
  const exact = all.filter((c) => c.conn.path?.pathSegments.some((s) => s.id === id) || c.conn.id === id);
  if (exact.length > 0) return exact;
  return all.filter((c) => c.conn.path?.pathSegments.some((s) => s.id.startsWith(id)));
}
