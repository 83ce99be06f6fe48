// Many connections at once for the scale phases (connections.1000, memory after GC, heal storm): request `n`
// icmp-responder connections spread round-robin over client namespaces, `concurrency` in flight.
import type { Connection } from '../../src/api/index.js';
import type { MeshClient } from '../../src/components/client.js';

export interface ConnectMany {
  conns: Connection[];
  /** Each connection with the client that made it (the one that must close it). */
  made: { client: MeshClient; conn: Connection }[];
  failed: number;
  firstErr: unknown;
  seconds: number;
}

/** Connection i goes from clients[i % k] into namespace netns[i % k] as interface nsm-<i / k>, to `service(i)` (default icmp-responder). */
export async function connectMany(clients: MeshClient[], netns: string[], n: number, concurrency: number, timeoutMs: number, service: (i: number) => string = () => 'icmp-responder'): Promise<ConnectMany> {
  const out: ConnectMany = { conns: [], made: [], failed: 0, firstErr: undefined, seconds: 0 };
  const k = clients.length;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) {
        try {
          const client = clients[i % k]!;
          const conn = await client.request({ service: service(i), ifname: `nsm-${Math.floor(i / k)}`, netnsUrl: `file:///var/run/netns/${netns[i % k]}`, timeoutMs });
          out.conns.push(conn);
          out.made.push({ client, conn });
        } catch (err) {
          out.failed++;
          out.firstErr ??= err;
        }
      }
    }),
  );
  out.seconds = (performance.now() - t0) / 1000;
  return out;
}

/** Closes every connection through the client that made it, `concurrency` at a time (errors ignored). */
export async function closeMany(made: ConnectMany['made'], concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < made.length; i = next++) await made[i]!.client.close(made[i]!.conn).catch(() => undefined);
    }),
  );
}
