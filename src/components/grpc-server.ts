// Starts a gRPC server for a component on one or more mesh URLs and stops it.
import type { Server } from 'nice-grpc';
import { listenOn, newGrpcServer, parseMeshUrl } from '../api/transport.js';
import { rmSync } from 'node:fs';

export interface RunningServer {
  /** The server on the first URL (nice-grpc servers listen once: one server per URL). */
  server: Server;
  /** The bound URLs, in the order asked (tcp port 0 resolved). */
  urls: string[];
  stop(): Promise<void>;
}

/** `graceMs`: how long stop() lets open calls (monitor streams never end) finish before cutting them (default 2 s). */
export async function startServer(urls: string[], addServices: (server: Server) => void, graceMs = 2000): Promise<RunningServer> {
  const servers: Server[] = [];
  const bound: string[] = [];
  try {
    for (const url of urls) {
      const server = newGrpcServer();
      addServices(server);
      servers.push(server);
      bound.push(await listenOn(server, url));
    }
  } catch (err) {
    for (const s of servers) s.forceShutdown();
    throw err;
  }
  return {
    server: servers[0]!,
    urls: bound,
    async stop() {
      await Promise.race([Promise.all(servers.map((s) => s.shutdown())), new Promise((r) => setTimeout(r, graceMs).unref())]);
      for (const s of servers) s.forceShutdown();
      for (const url of bound) {
        const u = parseMeshUrl(url);
        if (u.kind === 'unix') rmSync(u.path, { force: true });
      }
    },
  };
}
