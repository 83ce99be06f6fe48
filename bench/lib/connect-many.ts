// Many connections at once for the scale phases (connections.1000, memory after GC, heal storm): request `n`
// icmp-responder connections spread round-robin over client namespaces, `concurrency` in flight.
import type { Connection } from '../../src/api/index.js';
import type { MeshClient } from '../../src/components/client.js';

/** A Request or Close still pending this long after its own deadline is stuck: the mesh must end it by its deadline. */
const STUCK_GRACE_MS = 30_000;

/** Rejects (and logs `what`) when `p` is still pending `ms` after the start: a stuck call fails its row instead of hanging the bench. */
function unlessStuck<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const msg = `stuck: ${what()} still pending ${(ms / 1000).toFixed(0)} s after it started (past its deadline)`;
      process.stderr.write(`[bench] ${msg}\n`);
      reject(new Error(msg));
    }, ms);
  });
  return Promise.race([p, stuck]).finally(() => clearTimeout(timer));
}

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
          const r = { service: service(i), ifname: `nsm-${Math.floor(i / k)}`, netnsUrl: `file:///var/run/netns/${netns[i % k]}`, timeoutMs };
          const conn = await unlessStuck(client.request(r), timeoutMs + STUCK_GRACE_MS, () => `Request ${r.service} ${r.ifname} in ${netns[i % k]}`);
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

/** Closes every connection through the client that made it, `concurrency` at a time (errors ignored); resolves with how many were stuck. */
export async function closeMany(made: ConnectMany['made'], concurrency: number, timeoutMs = 15_000): Promise<number> {
  let next = 0;
  let stuck = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < made.length; i = next++) {
        const { client, conn } = made[i]!;
        await unlessStuck(client.close(conn, timeoutMs), timeoutMs + STUCK_GRACE_MS, () => `Close ${conn.id}`).catch((err: unknown) => {
          if (err instanceof Error && err.message.startsWith('stuck:')) stuck++;
        });
      }
    }),
  );
  return stuck;
}
